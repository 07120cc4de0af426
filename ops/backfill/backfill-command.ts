import {
  COMMON_FLAGS,
  type Command,
  EXIT_ATTENTION,
  EXIT_OK,
  progressLog,
  resolveStageNames,
  stageRegion,
  targetArgument,
  writeResult,
} from '../cli/command.js';
import {
  BACKFILL_CHOICE_FLAGS,
  BACKFILL_DESCRIPTION,
  BACKFILL_EXIT_CODES,
  backfillChoices,
} from './backfill-options.js';
import { describeBackfillRun } from './backfill-report.js';
import { backfillSearch } from './backfill-search.js';

/**
 * `npm run ops -- backfill search --stage <stage>`: `npm run backfill:search` (backfill-search.ts runs both) with the
 * Orders table and the search endpoint from the stage's outputs, and its clients from OpsAws.
 */

export const BACKFILL_COMMAND_USAGE = `Usage: npm run ops -- backfill search --stage <stage> [--dry-run | --verify] [--segments <n>] [--replicas <n>]
                                      [--region <region>] [--json]

${BACKFILL_DESCRIPTION}
The Orders table and the search endpoint come from the stage's outputs; requests to the domain are signed with
SigV4 (service es, the stage's region) with the default credential chain. The role must also be mapped to a role
of the domain's security plugin to write the index (docs/operations.md, "The operator policy").

${BACKFILL_CHOICE_FLAGS}
${COMMON_FLAGS}
The --json summary is the run's with the stage and the endpoint.
${BACKFILL_EXIT_CODES}`;

export const BACKFILL_COMMAND: Command = {
  usage: BACKFILL_COMMAND_USAGE,
  flags: ['dry-run', 'verify', 'segments', 'replicas'],
  prepare: (args) => {
    targetArgument(args, 'backfill', 'search');
    const choices = backfillChoices({
      dryRun: args['dry-run'],
      verify: args.verify,
      segments: args.segments,
      replicas: args.replicas,
    });
    return async (context, aws) => {
      const names = await resolveStageNames(context, aws);
      const search = aws.searchClient(names.searchEndpoint, await stageRegion(context, aws));
      try {
        const target = { table: names.ordersTableName, endpoint: names.searchEndpoint };
        const summary = await backfillSearch(
          { ...target, dynamodb: aws.dynamoDb, search },
          choices,
          progressLog(context.io),
        );
        writeResult(
          context.io,
          args.json,
          { stage: context.stage, endpoint: names.searchEndpoint, ...summary },
          describeBackfillRun(summary),
        );
        return summary.ok ? EXIT_OK : EXIT_ATTENTION;
      } finally {
        await search.close();
      }
    };
  },
};
