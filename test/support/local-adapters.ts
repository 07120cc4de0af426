import type { LocalAdapters } from '../../sandbox/consumer-factory.js';

export interface RecordingAdaptersOptions {
  /** Write each argument as JSON (`logger("x")`) rather than as text (`logger(x)`). @default false */
  readonly quote?: boolean;
}

/**
 * Sandbox adapters for the consumer factories' tests: every part a factory asks for is recorded in `asked`, with its
 * arguments, in the order asked, and answers an empty stand-in (a DynamoDB client's with an empty document client).
 * A factory that reads its environment first records nothing when a variable is missing.
 */
export function recordingAdapters(asked: string[], options: RecordingAdaptersOptions = {}): LocalAdapters {
  const format =
    options.quote === true ? (arg: unknown) => JSON.stringify(arg) : (arg: unknown) => String(arg);
  const record =
    (name: string) =>
    (...args: unknown[]): never => {
      asked.push(`${name}(${args.map(format).join(',')})`);
      return { documentClient: {} } as never;
    };
  return {
    documentClient: {} as never,
    outputDir: '/nowhere',
    deadLetterQueue: record('deadLetterQueue'),
    queue: record('queue'),
    logger: record('logger'),
    metrics: record('metrics'),
    clock: () => 0,
    sns: {} as never,
    ses: {} as never,
    sqs: {} as never,
    s3: {} as never,
    dynamoDb: record('dynamoDb'),
    openSearch: {} as never,
    openSearchClient: record('openSearchClient'),
  };
}
