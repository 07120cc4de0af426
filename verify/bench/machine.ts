import { cpus, totalmem } from 'node:os';

/** One line that says what a benchmark ran on: CPU model, cores, memory and Node.js version. */
export function describeMachine(): string {
  const processors = cpus();
  const model = processors[0]?.model.trim().replace(/\s+/g, ' ') || 'unknown CPU';
  const memoryGiB = (totalmem() / 1024 ** 3).toFixed(1);
  return `${model}, ${processors.length} cores, ${memoryGiB} GiB, node ${process.version}`;
}
