import { UsageError } from '../../ops/cli/flags.js';
import { type AuditComparison, describeAudit } from './audit-bench.js';
import { type BenchCliOptions, benchUsage, parseBenchArgs } from './bench-options.js';
import { BENCHMARKS, type BenchReport, runBenchmarks } from './benchmarks.js';
import { type ColdStartReport, describeColdStart } from './cold-start-bench.js';
import { type CpuPerRecordReport, describeCpuPerRecord } from './cpu-per-record-bench.js';
import { describeFanout, type FanoutComparison } from './fanout-bench.js';
import { describeMachine } from './machine.js';
import { describeRedriveFigures, type RedriveFigures } from './redrive-bench.js';
import { describeSearch, type SearchComparison } from './search-bench.js';
import { describeVotes, type VotesComparison } from './votes-bench.js';

/**
 * `npm run bench`: runs the registered benchmarks (benchmarks.ts) and prints one JSON report as the last line of
 * stdout; progress goes to stderr. Exit code 0 on success, 1 when a benchmark could not run, 2 for a bad flag.
 */

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function describe(report: BenchReport): string {
  const rows = Object.entries(report.lag).map(
    ([consumer, figures]) =>
      `  ${consumer.padEnd(20)} ${String(figures.records).padStart(8)} records   ` +
      `p50 ${figures.p50Ms ?? '-'} ms   p95 ${figures.p95Ms ?? '-'} ms   p99 ${figures.p99Ms ?? '-'} ms`,
  );
  const fanout = report.comparisons.fanout as FanoutComparison | undefined;
  const search = report.comparisons.search as SearchComparison | undefined;
  const audit = report.comparisons.audit as AuditComparison | undefined;
  const votesHot = report.comparisons['votes-hot'] as VotesComparison | undefined;
  const votesSpread = report.comparisons['votes-spread'] as VotesComparison | undefined;
  const coldStart = report.coldStart as ColdStartReport | undefined;
  const cpuPerRecord = report.cpuPerRecord as CpuPerRecordReport | undefined;
  const redrive = report.redrive as RedriveFigures | undefined;
  return [
    '',
    report.machine,
    ...(rows.length === 0 ? [] : ['End-to-end lag:', ...rows]),
    ...(fanout === undefined ? [] : [describeFanout(fanout)]),
    ...(search === undefined ? [] : [describeSearch(search)]),
    ...(audit === undefined ? [] : [describeAudit(audit)]),
    ...(votesHot === undefined ? [] : [describeVotes('votes-hot', votesHot)]),
    ...(votesSpread === undefined ? [] : [describeVotes('votes-spread', votesSpread)]),
    ...(coldStart === undefined ? [] : [describeColdStart(coldStart)]),
    ...(cpuPerRecord === undefined ? [] : [describeCpuPerRecord(cpuPerRecord)]),
    ...(redrive === undefined ? [] : [describeRedriveFigures(redrive)]),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const names = BENCHMARKS.map((benchmark) => benchmark.name);
  let options: BenchCliOptions | 'help';
  try {
    options = parseBenchArgs(process.argv.slice(2), names);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${benchUsage(names)}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${benchUsage(names)}\n`);
    return;
  }
  const only = options.only;
  const selected = BENCHMARKS.filter((benchmark) => only === undefined || benchmark.name === only);
  try {
    const report = await runBenchmarks(
      selected,
      {
        ratePerSecond: options.ratePerSecond,
        seconds: options.seconds,
        seed: options.seed,
        outputDir: options.outputDir,
        log,
      },
      describeMachine(),
    );
    if (!options.json) process.stdout.write(`${describe(report)}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } catch (error) {
    log(`Benchmark failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
}

await main();
