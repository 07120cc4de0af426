import { createRequire } from 'node:module';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';

/**
 * Loads the npm package `dynamodb-stream-elasticsearch` (the `search` benchmark's baseline) without the AWS SDK for
 * JavaScript v2 it `require`s. The package needs exactly two things of v2:
 *
 * - `require('aws-sdk').DynamoDB.Converter.unmarshall` (src/index.js) to turn stream images into documents;
 * - `require('aws-sdk/global').config` (src/utils/aws-es-connection.js): `getCredentials(cb)` then `credentials`,
 *   whose `getPromise()` / `get(cb)` its transport awaits before each request and whose keys aws4 signs with.
 *
 * v2 is end-of-support and about 90 MB, so the project does not depend on it. This module answers those two ids with
 * a tiny CommonJS module of its own: while the package loads, and only for those two ids, `Module._resolveFilename`
 * resolves them to a virtual file name that a require-cache entry holding the shim already fills, so Node never looks
 * for v2 on disk. The hook is removed as soon as the package is loaded; every other `require` resolves as usual. The
 * package's modules keep the shim they got (CommonJS binds at load time), so later calls need no hook.
 *
 * The credentials are static local ones: the package's client signs each request with aws4, which is harmless
 * against the local endpoint the benchmark points it at (the local server does not check signatures).
 *
 * Note: npm 7+ installs peer dependencies by default, so `node_modules/aws-sdk` may exist anyway (it is a peer
 * dependency of dynamodb-stream-elasticsearch); the shim makes the benchmark independent of it either way.
 */

/** The package's entry point, as far as the benchmark uses it (its own index.d.ts names v2 types). */
export interface DynamoDbStreamElasticsearch {
  pushStream(options: {
    readonly event: DynamoDBStreamEvent;
    readonly endpoint: string;
    readonly index?: string;
    readonly refresh?: boolean;
    readonly useBulk?: boolean;
    readonly keepAlive?: boolean;
  }): Promise<void>;
}

/** The static credentials the shim hands out (aws4 reads accessKeyId, secretAccessKey and sessionToken). */
export const SHIM_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** The v2 credentials object, as far as the package and aws4 use it. */
interface ShimCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: undefined;
  get(callback: (error: Error | null) => void): void;
  getPromise(): Promise<void>;
}

function staticCredentials(): ShimCredentials {
  return {
    ...SHIM_CREDENTIALS,
    sessionToken: undefined,
    get: (callback) => callback(null),
    getPromise: async () => undefined,
  };
}

/** What `require('aws-sdk/global')` gives the package: a `config` that resolves the static credentials. */
export function awsSdkGlobalShim(): {
  config: {
    credentials: ShimCredentials | null;
    getCredentials(callback: (error: Error | null) => void): void;
  };
} {
  const config = {
    credentials: null as ShimCredentials | null,
    getCredentials(callback: (error: Error | null) => void): void {
      config.credentials ??= staticCredentials();
      callback(null);
    },
  };
  return { config };
}

/**
 * What `require('aws-sdk')` gives the package: `DynamoDB.Converter.unmarshall`, v2's signature (`data`, `options`)
 * over v3's unmarshall. Differences that do not matter here: v3 turns a number beyond 2^53 into a BigInt where v2
 * rounded it, and a set into a Set where v2 made a DynamoDBSet; orders hold neither.
 */
export function awsSdkShim(): {
  DynamoDB: {
    Converter: {
      unmarshall(
        data: Parameters<typeof unmarshall>[0],
        options?: { readonly wrapNumbers?: boolean },
      ): Record<string, NativeAttributeValue>;
    };
  };
  config: ReturnType<typeof awsSdkGlobalShim>['config'];
} {
  return {
    DynamoDB: {
      Converter: {
        unmarshall: (data, options) => unmarshall(data, { wrapNumbers: options?.wrapNumbers ?? false }),
      },
    },
    config: awsSdkGlobalShim().config,
  };
}

/** The virtual file names the two ids resolve to while the package loads. */
const VIRTUAL_PREFIX = '/virtual/orders-stream-pipelines/aws-sdk-v2-shim';
// A Map, not an object: a lookup of any other id (`constructor`, say) must find nothing.
const SHIMMED_IDS: ReadonlyMap<string, string> = new Map([
  ['aws-sdk', `${VIRTUAL_PREFIX}/aws-sdk.js`],
  ['aws-sdk/global', `${VIRTUAL_PREFIX}/aws-sdk-global.js`],
]);

/** The CommonJS loader's internals the hook needs (not in @types/node). */
interface ModuleInternals {
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
  new (id: string): { exports: unknown; loaded: boolean; filename: string };
}

let loaded: DynamoDbStreamElasticsearch | undefined;

/** Loads dynamodb-stream-elasticsearch with the shim (once per process; later calls return the same module). */
export function loadDynamoDbStreamElasticsearch(): DynamoDbStreamElasticsearch {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const Module = require('node:module') as ModuleInternals;
  const shims: readonly [string, unknown][] = [
    [SHIMMED_IDS.get('aws-sdk')!, awsSdkShim()],
    [SHIMMED_IDS.get('aws-sdk/global')!, awsSdkGlobalShim()],
  ];
  for (const [filename, exports] of shims) {
    const entry = new Module(filename);
    entry.filename = filename;
    entry.exports = exports;
    entry.loaded = true;
    require.cache[filename] = entry as unknown as NodeJS.Module;
  }
  const original = Module._resolveFilename;
  Module._resolveFilename = function resolveWithShim(request, parent, isMain, options): string {
    return SHIMMED_IDS.get(request) ?? original.call(this, request, parent, isMain, options);
  };
  try {
    loaded = require('dynamodb-stream-elasticsearch') as DynamoDbStreamElasticsearch;
  } finally {
    Module._resolveFilename = original;
  }
  return loaded;
}
