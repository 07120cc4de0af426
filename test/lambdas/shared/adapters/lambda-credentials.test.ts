import * as chain from '@aws-sdk/credential-provider-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as lambdaCredentials from '../../../../lambdas/shared/adapters/lambda-credentials.js';

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
