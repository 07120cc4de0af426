import { Worker } from 'node:worker_threads';

/**
 * `--cpu-hog <n>`: n busy threads beside the system under test, so that anyone can reproduce a slow machine (a cold
 * or CPU-starved Lambda, a busy CI runner) on a fast one. Threads rather than processes: they end with the chaos
 * process whatever way it ends, so a crashed run never leaves busy loops behind.
 */

/** Most busy threads: far beyond any core count this is run on, and a typo should not fork-bomb the machine. */
export const MAX_CPU_HOGS = 64;

/** Running busy threads; `stop` ends them all and resolves once they are gone. */
export interface CpuHog {
  readonly threads: number;
  stop(): Promise<void>;
}

/** Starts `threads` busy threads (0: none, and `stop` does nothing). */
export function startCpuHog(threads: number): CpuHog {
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_CPU_HOGS) {
    throw new RangeError(`CPU hog threads must be a whole number from 0 to ${MAX_CPU_HOGS}, got ${threads}`);
  }
  const workers = Array.from({ length: threads }, () => {
    // A tight loop with no await: V8 terminates it on terminate() all the same.
    const worker = new Worker('for (;;) {}', { eval: true });
    // Never keeps the process alive on its own.
    worker.unref();
    return worker;
  });
  return {
    threads,
    stop: async (): Promise<void> => {
      await Promise.all(workers.map((worker) => worker.terminate()));
    },
  };
}
