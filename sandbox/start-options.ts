import { parseArgs } from 'node:util';

/** Thrown for a bad command-line flag; the message names the flag. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface StartOptions {
  readonly port: number;
}

export const START_USAGE = `Usage: npm start -- [--port <n>]

Runs the order system on this machine with no AWS account: DynamoDB Local with streams, the tables of the
synthesized template, and the real orders-api handler on http://localhost:<port>.

  --port <n>   the API's port (default 3000)
  --help       this text`;

/** Parses the command line; every error names the flag at fault. */
export function parseStartArgs(argv: readonly string[]): StartOptions | 'help' {
  let parsed: ReturnType<
    typeof parseArgs<{ options: { port: { type: 'string' }; help: { type: 'boolean' } } }>
  >;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { port: { type: 'string' }, help: { type: 'boolean' } },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) return 'help';
  const rawPort = parsed.values.port ?? '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new UsageError(`--port must be an integer from 1 to 65535, got "${rawPort}"`);
  }
  return { port };
}
