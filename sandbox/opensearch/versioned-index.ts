import {
  checkDocument,
  emptyMappings,
  type IndexMappings,
  mergeMappings,
  type OpenSearchErrorCause,
} from './mappings.js';

/**
 * One OpenSearch index as a versioning model: documents by id with their `_version`, written and deleted by the rules
 * of OpenSearch 2.x (its "Index document" and "Delete document" APIs and `index.gc_deletes`), in memory. The local
 * server (local-opensearch.ts) answers with it, and the search sync's property test
 * (test/lambdas/search-sync/convergence.test.ts) runs against it directly, so the model must enforce the rules, not
 * accept everything:
 *
 * - `external`: a write is accepted when its version is strictly greater than the stored one, `external_gte` when it
 *   is greater or equal; otherwise 409 `version_conflict_engine_exception`. The stored version is the live
 *   document's, or a deleted document's while its deleted-version marker lives. The accepted write stores the given
 *   version.
 * - `internal` (no version given): each write increments the version (a new document starts at 1, or one above a
 *   live marker); `op_type=create` fails with 409 when the document exists. A `version` with internal versioning is
 *   refused (400), as OpenSearch refuses optimistic concurrency by version since 7.0.
 * - A delete (plain, or with an external version) removes the document and leaves a marker of its version. The
 *   marker is forgotten once `gc_deletes` (60 s by default) of the injected clock have passed: after that a stale
 *   external write finds nothing to lose against and brings the document back. That is the reason the search sync
 *   writes a tombstone document (a live document at version + 1) instead of deleting; the property test shows both.
 *   OpenSearch prunes markers lazily, so on a real cluster a marker may outlive 60 s; the model forgets at exactly
 *   60 s, the earliest OpenSearch may, which is the case the sync must survive.
 * - With mappings of `dynamic: strict`, an unknown field is a 400 `strict_dynamic_mapping_exception`; a value of the
 *   wrong type a 400 `mapper_parsing_exception` (mappings.ts). A refused write changes nothing.
 */

/** OpenSearch's default `index.gc_deletes`. */
export const DEFAULT_GC_DELETES_MS = 60_000;

/** `version_type`, as the index and delete APIs and bulk actions take it. */
export type VersionType = 'internal' | 'external' | 'external_gte';

export const VERSION_TYPES: readonly VersionType[] = ['internal', 'external', 'external_gte'];

export interface VersionedIndexOptions {
  /** The index name, in error bodies. @default 'index' */
  readonly name?: string;
  /** @default `dynamic: true`, no fields */
  readonly mappings?: IndexMappings;
  /** How long a deleted document's version is remembered. @default DEFAULT_GC_DELETES_MS */
  readonly gcDeletesMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** A live document. */
export interface StoredDocument {
  readonly version: number;
  /** The write's sequence number in the index (`_seq_no`), counting every accepted write and delete. */
  readonly seqNo: number;
  readonly source: Readonly<Record<string, unknown>>;
}

/** A deleted document's version, remembered until `expiresAt` (clock ms). */
export interface DeletedVersion {
  readonly version: number;
  readonly expiresAt: number;
}

export interface IndexWriteOptions {
  /** Absent: internal versioning. */
  readonly version?: number;
  /** @default 'internal', or the request's choice */
  readonly versionType?: VersionType;
  /** `create` fails when the document exists. @default 'index' */
  readonly opType?: 'index' | 'create';
}

export interface DeleteOptions {
  readonly version?: number;
  readonly versionType?: VersionType;
}

/**
 * A write OpenSearch carried out: 201 created, 200 updated or deleted, 404 `not_found` (a delete of a document that
 * is not there: not an error in a bulk response, and still a version marker).
 */
export interface WriteAccepted {
  readonly ok: true;
  readonly status: 200 | 201 | 404;
  readonly result: 'created' | 'updated' | 'deleted' | 'not_found';
  readonly version: number;
  readonly seqNo: number;
}

/** A write OpenSearch refused: 400 (validation, mapping) or 409 (version conflict). Nothing changed. */
export interface WriteRefused {
  readonly ok: false;
  readonly status: 400 | 409;
  readonly error: OpenSearchErrorCause;
}

export type WriteResult = WriteAccepted | WriteRefused;

/** The index's uuid in error bodies: a fixed one is as good as any for a local index. */
const INDEX_UUID = 'sandbox0000000000000000';

export class VersionedIndex {
  public readonly name: string;
  readonly #clock: () => number;
  readonly #gcDeletesMs: number;
  readonly #documents = new Map<string, StoredDocument>();
  readonly #deleted = new Map<string, { version: number; deletedAt: number }>();
  #mappings: IndexMappings;
  #seqNo = -1;

  public constructor(options: VersionedIndexOptions = {}) {
    this.name = options.name ?? 'index';
    this.#clock = options.clock ?? Date.now;
    this.#gcDeletesMs = options.gcDeletesMs ?? DEFAULT_GC_DELETES_MS;
    this.#mappings = options.mappings ?? emptyMappings();
  }

  public get mappings(): IndexMappings {
    return this.#mappings;
  }

  public get gcDeletesMs(): number {
    return this.#gcDeletesMs;
  }

  /** Adds fields (PUT `_mapping`); throws MappingDefinitionError for a changed type. */
  public putMappings(update: IndexMappings, setsDynamic: boolean): void {
    this.#mappings = mergeMappings(this.#mappings, update, setsDynamic);
  }

  /** Indexes `source` as document `id` under the versioning rules (see the module comment). */
  public index(id: string, source: object, options: IndexWriteOptions = {}): WriteResult {
    const opType = options.opType ?? 'index';
    const versionType = options.versionType ?? 'internal';
    const invalid = this.#invalidVersioning(options.version, versionType, opType);
    if (invalid !== undefined) return invalid;
    const checked = checkDocument(this.#mappings, source as Record<string, unknown>, id);
    if (!checked.ok) return { ok: false, status: 400, error: this.#withIndex(checked.rejection.error) };

    const live = this.#documents.get(id);
    const current = live?.version ?? this.#deletedVersion(id);
    let version: number;
    if (versionType === 'internal') {
      if (opType === 'create' && live !== undefined) {
        return this.#conflict(id, `document already exists (current version [${live.version}])`);
      }
      version = (current ?? 0) + 1;
    } else {
      const provided = options.version!;
      if (current !== undefined && !(versionType === 'external' ? provided > current : provided >= current)) {
        return this.#conflict(
          id,
          `current version [${current}] is ${versionType === 'external' ? 'higher or equal to' : 'higher than'} ` +
            `the one provided [${provided}]`,
        );
      }
      version = provided;
    }
    // Mapping additions of `dynamic: true` stick only when the write is accepted.
    this.#mappings = checked.mappings;
    this.#deleted.delete(id);
    this.#seqNo += 1;
    this.#documents.set(id, {
      version,
      seqNo: this.#seqNo,
      source: structuredClone(source) as Readonly<Record<string, unknown>>,
    });
    return live === undefined
      ? { ok: true, status: 201, result: 'created', version, seqNo: this.#seqNo }
      : { ok: true, status: 200, result: 'updated', version, seqNo: this.#seqNo };
  }

  /** Deletes document `id`, leaving a deleted-version marker for `gc_deletes`. */
  public delete(id: string, options: DeleteOptions = {}): WriteResult {
    const versionType = options.versionType ?? 'internal';
    const invalid = this.#invalidVersioning(options.version, versionType, 'delete');
    if (invalid !== undefined) return invalid;
    const live = this.#documents.get(id);
    const current = live?.version ?? this.#deletedVersion(id);
    let version: number;
    if (versionType === 'internal') {
      version = (current ?? 0) + 1;
    } else {
      const provided = options.version!;
      if (current !== undefined && !(versionType === 'external' ? provided > current : provided >= current)) {
        return this.#conflict(
          id,
          `current version [${current}] is ${versionType === 'external' ? 'higher or equal to' : 'higher than'} ` +
            `the one provided [${provided}]`,
        );
      }
      version = provided;
    }
    // Even a delete of a missing document records its version: OpenSearch indexes a delete tombstone either way.
    this.#documents.delete(id);
    this.#deleted.set(id, { version, deletedAt: this.#clock() });
    this.#seqNo += 1;
    return live === undefined
      ? { ok: true, status: 404, result: 'not_found', version, seqNo: this.#seqNo }
      : { ok: true, status: 200, result: 'deleted', version, seqNo: this.#seqNo };
  }

  /** The live document `id`. */
  public get(id: string): StoredDocument | undefined {
    return this.#documents.get(id);
  }

  /** Every live document by id (a tombstone document of the search sync is a live document here). */
  public documents(): ReadonlyMap<string, StoredDocument> {
    return this.#documents;
  }

  /** The deleted-version markers that still live, by id (for diagnostics and tests). */
  public deletedVersions(): ReadonlyMap<string, DeletedVersion> {
    const now = this.#clock();
    const live = new Map<string, DeletedVersion>();
    for (const [id, marker] of this.#deleted) {
      if (now < marker.deletedAt + this.#gcDeletesMs) {
        live.set(id, { version: marker.version, expiresAt: marker.deletedAt + this.#gcDeletesMs });
      }
    }
    return live;
  }

  /** Live documents. */
  public get count(): number {
    return this.#documents.size;
  }

  /** The version a deleted document's marker remembers, forgetting it once gc_deletes has passed. */
  #deletedVersion(id: string): number | undefined {
    const marker = this.#deleted.get(id);
    if (marker === undefined) return undefined;
    if (this.#clock() >= marker.deletedAt + this.#gcDeletesMs) {
      this.#deleted.delete(id);
      return undefined;
    }
    return marker.version;
  }

  #invalidVersioning(
    version: number | undefined,
    versionType: VersionType,
    operation: 'index' | 'create' | 'delete',
  ): WriteRefused | undefined {
    const refuse = (reason: string): WriteRefused => ({
      ok: false,
      status: 400,
      error: { type: 'action_request_validation_exception', reason: `Validation Failed: 1: ${reason};` },
    });
    if (!VERSION_TYPES.includes(versionType)) return refuse(`version type [${versionType}] is not supported`);
    if (versionType === 'internal') {
      return version === undefined
        ? undefined
        : refuse(
            'internal versioning can not be used for optimistic concurrency control. ' +
              'Please use `if_seq_no` and `if_primary_term` instead',
          );
    }
    if (operation === 'create')
      return refuse('create operations only support internal versioning. use index instead');
    if (version === undefined) return refuse(`version type [${versionType}] requires a version`);
    if (!Number.isSafeInteger(version) || version < 0) {
      return refuse(`illegal version value [${version}] for version type [${versionType.toUpperCase()}]`);
    }
    return undefined;
  }

  #conflict(id: string, detail: string): WriteRefused {
    return {
      ok: false,
      status: 409,
      error: this.#withIndex({
        type: 'version_conflict_engine_exception',
        reason: `[${id}]: version conflict, ${detail}`,
        shard: '0',
      }),
    };
  }

  #withIndex(error: OpenSearchErrorCause): OpenSearchErrorCause {
    return { ...error, index: this.name, index_uuid: INDEX_UUID };
  }
}
