import {
  COMMON_FLAGS,
  type Command,
  EXIT_ATTENTION,
  EXIT_OK,
  progressLog,
  resolveStageNames,
  writeResult,
} from '../cli/command.js';
import {
  AUDIT_HISTORY_DESCRIPTION,
  AUDIT_HISTORY_EXIT_CODES,
  auditHistoryCostNote,
  dayRangeFlags,
  orderIdArgument,
} from './audit-history-options.js';
import { describeHistory, historyJson, historyOk } from './history-report.js';
import { readOrderHistory } from './history-run.js';

/**
 * `npm run ops -- history <orderId> --stage <stage>`: `npm run audit:history` (history-run.ts reads for both) on the
 * stage's audit bucket, from its outputs, read through OpsAws.
 */

export const HISTORY_COMMAND_USAGE = `Usage: npm run ops -- history <orderId> --stage <stage> [--since YYYY-MM-DD] [--until YYYY-MM-DD]
                                [--region <region>] [--json]

${AUDIT_HISTORY_DESCRIPTION}
The audit bucket comes from the stage's outputs; every table=<name>/ prefix of it is read.

  <orderId>             the order's id (the audit lines' top-level orderId)
  --since YYYY-MM-DD    read only objects of this UTC day or later (the dt=<day>/ segment)
  --until YYYY-MM-DD    read only objects of this UTC day or earlier
${COMMON_FLAGS}
The --json object is the history (the order id, its changes with their diffs, duplicates dropped, objects read,
problems) with the stage.

${auditHistoryCostNote('--since and --until')}

${AUDIT_HISTORY_EXIT_CODES}`;

export const HISTORY_COMMAND: Command = {
  usage: HISTORY_COMMAND_USAGE,
  flags: ['since', 'until'],
  prepare: (args) => {
    const orderId = orderIdArgument(args.positionals.slice(1));
    const { since, until } = dayRangeFlags(args.since, args.until);
    return async (context, aws) => {
      const names = await resolveStageNames(context, aws);
      const result = await readOrderHistory(
        aws.auditObjects(names.auditBucketName),
        { orderId, since, until },
        { log: progressLog(context.io) },
      );
      writeResult(
        context.io,
        args.json,
        { stage: context.stage, ...historyJson(result) },
        describeHistory(result),
      );
      return historyOk(result) ? EXIT_OK : EXIT_ATTENTION;
    };
  },
};
