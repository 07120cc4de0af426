import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { CredentialsProvider } from '../aws/ports.js';

/** The HTTP methods `ops api` sends. */
export const API_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type ApiMethod = (typeof API_METHODS)[number];

type Sha256Constructor = NonNullable<ConstructorParameters<typeof SignatureV4>[0]['sha256']>;
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * SHA-256 (and HMAC-SHA-256 with a secret) over node:crypto, in the shape the signer takes. Neither
 * @aws-crypto/sha256-js nor @smithy/hash-node is installed; this is what the latter does.
 */
export class NodeSha256 {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;

  public constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }

  public update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  public async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  public reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.#secret));
  }
}

export interface SignedApiRequest {
  readonly apiUrl: string;
  readonly method: ApiMethod;
  /** Starts with `/`; appended to the API URL's path (which holds the API stage). May carry a query. */
  readonly path: string;
  /** JSON text, sent as application/json. */
  readonly body?: string;
  readonly region: string;
  readonly credentials: CredentialsProvider;
  /** The signing time; tests fix it. */
  readonly signingDate: Date;
}

export interface ApiResponse {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
}

/** The request's URL: the API URL (e.g. `https://id.execute-api.eu-west-1.amazonaws.com/prod/`) and the path. */
export function apiRequestUrl(apiUrl: string, path: string): URL {
  const base = new URL(apiUrl);
  const [pathname = '', query] = path.split('?', 2);
  const url = new URL(base.toString());
  url.pathname = `${base.pathname.replace(/\/+$/, '')}${pathname}`;
  url.search = query === undefined ? '' : `?${query}`;
  return url;
}

/** The region of an execute-api URL (`<id>.execute-api.<region>.amazonaws.com`), undefined for other hosts. */
export function regionOfApiUrl(apiUrl: string): string | undefined {
  return /^[^.]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(apiUrl).hostname)?.[1];
}

/** Sends one request to an IAM-authorized API Gateway REST API, signed with SigV4 for `execute-api`. */
export async function sendSignedApiRequest(request: SignedApiRequest): Promise<ApiResponse> {
  const url = apiRequestUrl(request.apiUrl, request.path);
  const headers: Record<string, string> = { host: url.host, accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  // The signer takes the query as an object; a prototype-free one, so that no parameter name can reach a prototype.
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of url.searchParams) {
    const previous = query[key];
    query[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const signer = new SignatureV4({
    service: 'execute-api',
    region: request.region,
    credentials: request.credentials,
    sha256: NodeSha256 as Sha256Constructor,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query,
      headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    },
    { signingDate: request.signingDate },
  );
  // fetch sets Host itself, from the same URL.
  const sent = Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host');
  const response = await fetch(url, {
    method: request.method,
    headers: sent,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return { status: response.status, statusText: response.statusText, body: await response.text() };
}
