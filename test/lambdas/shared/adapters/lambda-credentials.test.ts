import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as chain from '@aws-sdk/credential-provider-node';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as lambdaCredentials from '../../../../lambdas/shared/adapters/lambda-credentials.js';
import { lambdaBundleOptions, PROJECT_ROOT } from '../../../../verify/bench/bundle-analysis.js';

const ROLE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEROLEKEY01',
  AWS_SECRET_ACCESS_KEY: 'role-secret',
  AWS_SESSION_TOKEN: 'role-session-token',
};

describe('lambda-credentials (what the bundles hold for @aws-sdk/credential-provider-node)', () => {
  beforeEach(() => {
    // Nothing of the machine's own configuration may answer for the function's environment.
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_CREDENTIAL_EXPIRATION',
      'AWS_PROFILE',
    ]) {
      vi.stubEnv(name, undefined);
    }
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('exports every name the package does, so that the alias leaves no import unresolved', () => {
    // Act
    // `default` is the test runner's CommonJS interop: the package's ESM build, which the bundles use, has none.
    const missing = Object.keys(chain).filter((name) => name !== 'default' && !(name in lambdaCredentials));

    // Assess
    expect(Object.keys(chain)).toContain('defaultProvider');
    expect(missing).toEqual([]);
  });

  it("resolves the execution role's credentials from the environment Lambda sets", async () => {
    // Prepare
    for (const [name, value] of Object.entries(ROLE_CREDENTIALS)) {
      vi.stubEnv(name, value);
    }

    // Act
    const credentials = await lambdaCredentials.defaultProvider()();

    // Assess
    expect(credentials).toMatchObject({
      accessKeyId: ROLE_CREDENTIALS.AWS_ACCESS_KEY_ID,
      secretAccessKey: ROLE_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      sessionToken: ROLE_CREDENTIALS.AWS_SESSION_TOKEN,
    });
    expect(credentials.expiration).toBeUndefined();
    expect(lambdaCredentials.credentialsWillNeedRefresh(credentials)).toBe(false);
    expect(lambdaCredentials.credentialsTreatedAsExpired(credentials)).toBe(false);
  });

  it('fails as the default chain does when the environment holds no credentials', async () => {
    // Act
    const resolving = lambdaCredentials.defaultProvider()();

    // Assess
    await expect(resolving).rejects.toMatchObject({
      name: 'CredentialsProviderError',
      message: 'Unable to find environment variable credentials.',
    });
  });

  it.each([
    ['expiring in an hour', 3_600_000, true, false],
    ['expiring in a minute', 60_000, true, true],
  ])('judges credentials %s as the package does', (_label, inMs, willNeedRefresh, treatedAsExpired) => {
    // Prepare
    const credentials = { accessKeyId: 'a', secretAccessKey: 's', expiration: new Date(Date.now() + inMs) };

    // Act & Assess
    expect(lambdaCredentials.credentialsWillNeedRefresh(credentials)).toBe(willNeedRefresh);
    expect(chain.credentialsWillNeedRefresh(credentials)).toBe(willNeedRefresh);
    expect(lambdaCredentials.credentialsTreatedAsExpired(credentials)).toBe(treatedAsExpired);
    expect(chain.credentialsTreatedAsExpired(credentials)).toBe(treatedAsExpired);
  });
});

describe('an SDK client in a bundle made as BaseFunction makes them (LAMBDA_BUNDLE_ALIASES)', () => {
  // A bundle of one S3 PutObject, built with the Lambda bundles' options, aliases included.
  const ENTRY = [
    "import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';",
    'const client = new S3Client({ forcePathStyle: true, maxAttempts: 1 });',
    "await client.send(new PutObjectCommand({ Bucket: 'audit', Key: 'k', Body: 'x' }));",
  ].join('\n');
  let dir: string;
  let bundle: string;
  let inputs: string[];
  let server: Server;
  let endpoint: string;
  const requests: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lambda-credentials-'));
    bundle = join(dir, 'index.mjs');
    const { entryPoints: _entry, ...options } = lambdaBundleOptions(join(PROJECT_ROOT, 'lambdas'), bundle);
    const result = await build({
      ...options,
      stdin: { contents: ENTRY, resolveDir: PROJECT_ROOT, sourcefile: 'put-object.ts', loader: 'ts' },
    });
    inputs = Object.keys(result.metafile?.inputs ?? {});
    server = createServer((request, response) => {
      requests.push(request.headers);
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { etag: '"0"' });
        response.end();
      });
    });
    await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolvePromise) => server.close(resolvePromise));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    requests.length = 0;
  });

  /** Runs the bundle in a fresh node with exactly `env` (and a HOME without AWS files); its exit code and stderr. */
  function runBundle(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [bundle], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          AWS_REGION: 'eu-west-1',
          AWS_ENDPOINT_URL: endpoint,
          AWS_EC2_METADATA_DISABLED: 'true',
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
      });
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stderr }));
    });
  }

  it('holds the environment link in place of the default chain', () => {
    // Assess
    expect(inputs).toContain('lambdas/shared/adapters/lambda-credentials.ts');
    expect(inputs.some((input) => input.includes('node_modules/@aws-sdk/credential-provider-env/'))).toBe(
      true,
    );
    expect(
      inputs.filter((input) => /credential-provider-(node|ini|sso|process|web-identity|http)\//.test(input)),
    ).toEqual([]);
  });

  it("signs its call with the execution role's credentials from the environment", async () => {
    // Act
    const { code, stderr } = await runBundle(ROLE_CREDENTIALS);

    // Assess
    expect(code, stderr).toBe(0);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ROLE_CREDENTIALS.AWS_ACCESS_KEY_ID}/\\d{8}/eu-west-1/s3/aws4_request`,
      ),
    );
    expect(requests[0]?.['x-amz-security-token']).toBe(ROLE_CREDENTIALS.AWS_SESSION_TOKEN);
  });

  it('fails before any call, naming the environment, when the environment holds no credentials', async () => {
    // Act
    const { code, stderr } = await runBundle({});

    // Assess
    expect(code).not.toBe(0);
    expect(stderr).toContain('Unable to find environment variable credentials.');
    expect(requests).toEqual([]);
  });
});
