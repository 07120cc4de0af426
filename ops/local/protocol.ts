import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';

/**
 * `npm run ops -- --local`: how the ops command finds and reaches a running sandbox (`npm start`). The sandbox
 * serves the ops command's ports (ops/aws/ports.ts) on 127.0.0.1 as one JSON call per port method
 * (sandbox/ops-endpoint.ts), and writes where, with a bearer token, to `<sandbox dir>/ops-endpoint.json` (mode 0600),
 * removed when it stops. What is a real local server already (DynamoDB Local, the local OpenSearch) the ops command
 * reaches directly.
 */

/** The endpoint file, under the sandbox's output directory. */
export const OPS_ENDPOINT_FILE = 'ops-endpoint.json';

/**
 * `<repo>/.sandbox`: the sandbox's default output directory (sandbox/output-dir.ts takes it from here), where the ops
 * command looks for a running sandbox unless told another.
 */
export const DEFAULT_SANDBOX_DIR = fileURLToPath(new URL('../../.sandbox', import.meta.url));

export const opsEndpointSchema = z.strictObject({
  /** `http://127.0.0.1:<port>`: where the sandbox answers the port methods. */
  url: z.url({ protocol: /^http$/ }),
  /** Sent as `Authorization: Bearer <token>` with every call: only who can read the file can call. */
  token: z.string().min(32),
  /** The stage the sandbox stands in for (its stacks are named after it). */
  stage: z.string().min(1),
  region: z.string().min(1),
  dynamodbEndpoint: z.url(),
  searchUrl: z.url(),
  /** The sandbox's process, for messages. */
  pid: z.number().int().positive(),
});
export type OpsEndpoint = z.infer<typeof opsEndpointSchema>;

/** No endpoint file: no sandbox is running with that output directory. */
export class NoRunningSandboxError extends Error {
  public constructor(path: string) {
    super(
      `No running sandbox found (${path} does not exist): start one with \`npm start\`, or pass --sandbox-dir ` +
        'with the output directory it was started with',
    );
    this.name = 'NoRunningSandboxError';
  }
}

/** The endpoint file exists but is not one a sandbox writes. */
export class MalformedOpsEndpointError extends Error {
  public constructor(path: string, reason: string) {
    super(`${path} is not a sandbox's ops endpoint file: ${reason}`);
    this.name = 'MalformedOpsEndpointError';
  }
}

/** Reads the endpoint file of the sandbox whose output directory is `dir`. */
export async function readOpsEndpoint(dir: string): Promise<OpsEndpoint> {
  const path = join(dir, OPS_ENDPOINT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NoRunningSandboxError(path);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MalformedOpsEndpointError(path, (error as Error).message);
  }
  const parsed = opsEndpointSchema.safeParse(json);
  if (!parsed.success) throw new MalformedOpsEndpointError(path, z.prettifyError(parsed.error));
  return parsed.data;
}

/** The port methods the sandbox answers: `POST /ops/<method>` with the JSON array of arguments as the body. */
export const OPS_METHODS = [
  'stackOutputs.outputsOf',
  'mappings.mapping',
  'metrics.maximum',
  'alarms.alarmsWithPrefix',
  'deadLetterQueues.depth',
  'deadLetterQueues.peek',
  'deadLetterQueues.receive',
  'deadLetterQueues.delete',
  'functions.invoke',
  'auditObjects.keys',
  'auditObjects.commonPrefixes',
  'auditObjects.read',
] as const;
export type OpsMethod = (typeof OPS_METHODS)[number];

/** The largest request body the sandbox reads: an Invoke payload is at most Lambda's 6 MB. */
export const MAX_OPS_REQUEST_BYTES = 6 * 1024 * 1024;

/** The answer of a call that failed in the sandbox: the error's name and message, rethrown by the client. */
export const opsErrorSchema = z.object({ error: z.object({ name: z.string(), message: z.string() }) });

/** A call the sandbox answered with an error (its name and message), or did not answer. */
export class SandboxCallError extends Error {
  public constructor(method: string, reason: string) {
    super(`${reason} (the sandbox's ${method})`);
    this.name = 'SandboxCallError';
  }
}
