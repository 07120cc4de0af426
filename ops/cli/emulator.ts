/** The client configuration of a DynamoDB emulator such as DynamoDB Local: its endpoint, a region and placeholders. */
export interface EmulatorClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * The region an emulator client names. DynamoDB Local keeps one database per access key and region unless started
 * with `-sharedDb` (the sandbox starts it so); either way every client of one emulator must name the same one.
 */
export const EMULATOR_REGION = 'eu-west-1';

/**
 * The configuration for `--dynamodb-endpoint` (backfill) and `--endpoint` (reconcile): DynamoDB Local accepts any
 * credentials but needs some, and a machine without AWS credentials has none in the SDK's chain. The sandbox's own
 * clients use the same configuration (sandbox/dynamodb-local/server.ts), so a tool reaches the tables it wrote.
 */
export function emulatorClientConfig(endpoint: string): EmulatorClientConfig {
  return {
    endpoint,
    region: EMULATOR_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
}
