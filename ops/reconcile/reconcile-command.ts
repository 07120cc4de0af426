import {
  COMMON_FLAGS,
  type Command,
  EXIT_ATTENTION,
  EXIT_OK,
  progressLog,
  resolveStageNames,
  targetArgument,
  writeResult,
} from '../cli/command.js';
import {
  RECONCILE_CHOICE_FLAGS,
  RECONCILE_DESCRIPTION,
  RECONCILE_EXIT_CODES,
  reconcileChoices,
} from './reconcile-options.js';
import { describeReconcile } from './reconcile-report.js';
import { reconcileTables } from './reconcile-tables.js';

/**
 * `npm run ops -- reconcile votes --stage <stage>`: `npm run reconcile:votes` (reconcile-tables.ts runs both) with the
 * Votes and PollResults tables from the stage's outputs, and DynamoDB from OpsAws.
 */

export const RECONCILE_COMMAND_USAGE = `Usage: npm run ops -- reconcile votes --stage <stage> [--poll <id>] [--fix] [--segments <n>]
                                       [--wait-seconds <s>] [--attempts <n>] [--region <region>] [--json]

${RECONCILE_DESCRIPTION}
The Votes and PollResults tables come from the stage's outputs.

${RECONCILE_CHOICE_FLAGS}
${COMMON_FLAGS}
The --json summary is the run's with the stage and the two tables.
${RECONCILE_EXIT_CODES}`;

export const RECONCILE_COMMAND: Command = {
  usage: RECONCILE_COMMAND_USAGE,
  flags: ['poll', 'fix', 'segments', 'wait-seconds', 'attempts'],
  prepare: (args) => {
    targetArgument(args, 'reconcile', 'votes');
    const choices = reconcileChoices({
      poll: args.poll,
      fix: args.fix,
      segments: args.segments,
      waitSeconds: args['wait-seconds'],
      attempts: args.attempts,
    });
    return async (context, aws) => {
      const names = await resolveStageNames(context, aws);
      const tables = { votes: names.votesTableName, results: names.pollResultsTableName };
      const summary = await reconcileTables(aws.dynamoDb, tables, choices, progressLog(context.io));
      writeResult(
        context.io,
        args.json,
        { stage: context.stage, votesTable: tables.votes, resultsTable: tables.results, ...summary },
        describeReconcile(summary, tables),
      );
      return summary.ok ? EXIT_OK : EXIT_ATTENTION;
    };
  },
};
