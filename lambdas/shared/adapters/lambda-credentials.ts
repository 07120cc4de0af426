import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * What a Lambda bundle holds in place of `@aws-sdk/credential-provider-node`: BaseFunction's esbuild alias
 * (LAMBDA_BUNDLE_ALIASES in lib/constructs/base-function.ts) makes every import of that package, the SDK clients'
 * own default included, resolve to this module. Code run from source (tests, the sandbox, `ops`) keeps the full
 * chain.
 *
 * Why: Lambda hands a function its execution role's credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, and the default chain's first link (`fromEnv`) answers from them on every invocation. The rest of
 * the chain (SSO, INI files, credential processes, web identity, the container and instance metadata endpoints, and
 * the STS and SSO clients they use) never runs there, yet it is 114 to 147 KB of each bundle that Node parses at
 * every cold start: 18 ms of the order fan-out's init, measured with `npm run bench -- --only cold-start`.
 *
 * The behaviour is the chain's own in Lambda: the same environment variables, read by the same `fromEnv`, with the
 * same error (CredentialsProviderError, "Unable to find environment variable credentials.") when they are missing.
 * What differs is only where the full chain would have gone on looking (a profile, a file, a metadata endpoint),
 * none of which a Lambda execution environment offers.
 */
export type DefaultProviderInit = Parameters<typeof fromEnv>[0];

/** A provider of credentials, as the SDK clients take it. */
export type CredentialsProvider = ReturnType<typeof fromEnv>;

/** Credentials as a provider resolves them. */
export type Credentials = Awaited<ReturnType<CredentialsProvider>>;

/** The credentials of the function's execution role, from the environment Lambda sets. */
export function defaultProvider(init: DefaultProviderInit = {}): CredentialsProvider {
  return fromEnv(init);
}

/** As the package's: credentials with an expiration are refreshed; Lambda's environment credentials carry none. */
export function credentialsWillNeedRefresh(credentials: Credentials | undefined): boolean {
  return credentials?.expiration !== undefined;
}

/** As the package's: credentials expiring within five minutes count as expired. */
export function credentialsTreatedAsExpired(credentials: Credentials | undefined): boolean {
  return credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
}
