import { createServer } from 'node:net';
import type { SynthesizedApp } from '../../sandbox/synth.js';
import { type ResourceAddress, resolveFunctionEnvironment, resourceAt } from '../../sandbox/template-env.js';

/**
 * A function's environment for running its real code on this machine with no AWS at hand: the variables of the
 * synthesized template resolved as the sandbox resolves them (sandbox/template-env.ts), but to stand-ins that lead
 * nowhere (names, fake ARNs, URLs on a closed port of 127.0.0.1), plus what Lambda itself sets and fake credentials,
 * so that nothing looks for real ones (no credential chain, no instance metadata) and a call that slips through fails
 * at once with a refused connection instead of reaching AWS.
 */

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';

/** A port of 127.0.0.1 nothing listens on: one the kernel just handed out and that was closed again. */
export async function closedPort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePromise(port));
    });
  });
}

/**
 * The template's variables of the function at `address`, every reference resolved to a stand-in: a queue's URL on
 * `http://127.0.0.1:<port>`, a topic's ARN, any other Ref to the
 * resource's logical id (a table or bucket name), an endpoint attribute to `127.0.0.1:<port>` (the template's
 * `https://` stays in front of it), any other attribute to a fake ARN.
 */
export function offlineTemplateEnvironment(
  app: SynthesizedApp,
  address: ResourceAddress,
  port: number,
): Record<string, string> {
  const unreachable = `http://127.0.0.1:${port}`;
  return resolveFunctionEnvironment(
    app,
    address,
    (target) => {
      const type = resourceAt(app, target).Type;
      if (type === 'AWS::SQS::Queue') return `${unreachable}/${ACCOUNT}/${target.logicalId}`;
      if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${REGION}:${ACCOUNT}:${target.logicalId}`;
      return target.logicalId;
    },
    (target, attribute) => {
      // The bare host, as the attribute is: `https://` + it stays https (a signed client refuses plain HTTP).
      if (/Endpoint$/.test(attribute)) return `127.0.0.1:${port}`;
      if (attribute === 'QueueUrl') return `${unreachable}/${ACCOUNT}/${target.logicalId}`;
      return `arn:aws:bench:${REGION}:${ACCOUNT}:${target.logicalId}/${attribute}`;
    },
  );
}

/**
 * What Lambda's Node.js runtime sets around a function's own variables (the subset a handler or Powertools reads),
 * with fake credentials, every AWS SDK endpoint on the closed port, and an unsampled X-Ray trace header, so the
 * tracer runs as in Lambda but sends nothing.
 */
export function lambdaRuntimeEnvironment(options: {
  readonly functionName: string;
  readonly memoryMb: number | undefined;
  readonly taskRoot: string;
  readonly port: number;
}): Record<string, string> {
  const unreachable = `127.0.0.1:${options.port}`;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIDCOLDSTARTBENCH00',
    AWS_SECRET_ACCESS_KEY: 'cold-start-bench-secret',
    AWS_SESSION_TOKEN: 'cold-start-bench-token',
    AWS_ENDPOINT_URL: `http://${unreachable}`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb ?? 128),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'cold-start',
    LAMBDA_TASK_ROOT: options.taskRoot,
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: unreachable,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    _X_AMZN_TRACE_ID: 'Root=1-00000000-000000000000000000000001;Parent=0000000000000001;Sampled=0',
  };
}
