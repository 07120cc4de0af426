import { defaultOpsAws } from './aws/default-aws.js';
import { openLocalStage } from './local/local-aws.js';
import { runOpsCli } from './ops-cli.js';

/** `npm run ops -- <command> ...` (ops-cli.ts): the process's streams, the SDK's default chains, the clock. */
process.exitCode = await runOpsCli(
  process.argv.slice(2),
  { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) },
  { aws: defaultOpsAws, local: openLocalStage, now: () => new Date() },
);
