import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Thrown when a line of a JSON Lines file is not JSON: the file was written by something else, or cut short. */
export class JsonLinesParseError extends Error {
  public constructor(path: string, lineNumber: number, cause: unknown) {
    super(`${path}:${lineNumber}: not a JSON line (${(cause as Error).message})`, { cause });
    this.name = 'JsonLinesParseError';
  }
}

/** Turns a value into one line of JSON text (no line break inside). */
export type JsonLineSerializer = (value: unknown) => string;

/**
 * The tail of the pending writes per file, shared by every JsonLinesFile of the process: the local DLQ and the
 * on-failure sink of a consumer are two writers of one queue file, and their lines must never interleave.
 */
const writeTails = new Map<string, Promise<void>>();

/**
 * A JSON Lines file that local adapters append to, one object per line: the sandbox's stand-in for a queue, topic or
 * bucket, readable with `jq` while the sandbox runs. Writes are serialised per path, so each append lands as one
 * whole line in call order; the directory is created on the first write.
 */
export class JsonLinesFile {
  public readonly path: string;
  readonly #serialize: JsonLineSerializer;

  /**
   * @param serialize defaults to JSON.stringify; pass a lossless one (toLosslessJson) for values holding
   *   NumberValue, BigInt or binary.
   */
  public constructor(path: string, serialize: JsonLineSerializer = JSON.stringify) {
    this.path = resolve(path);
    this.#serialize = serialize;
  }

  /** Appends `value` as one line; resolves once it is in the file. Rejects when it cannot be serialised. */
  public append(value: unknown): Promise<void> {
    // Serialised before queueing, so a value that cannot be written fails its own caller and nothing else.
    let line: string;
    try {
      line = `${this.#serialize(value)}\n`;
    } catch (error) {
      return Promise.reject(error);
    }
    if (line.indexOf('\n') !== line.length - 1) {
      return Promise.reject(
        new TypeError(`The serializer of ${this.path} produced a line break inside a line`),
      );
    }
    const previous = writeTails.get(this.path) ?? Promise.resolve();
    const written = previous.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, line, 'utf8');
    });
    // The chain must go on after a failed write: the next line may well succeed (e.g. after a disk-full blip).
    const tail = written.catch(() => {});
    writeTails.set(this.path, tail);
    void tail.then(() => {
      if (writeTails.get(this.path) === tail) writeTails.delete(this.path);
    });
    return written;
  }

  /** Resolves once every append issued so far for this path has been written (or has failed). */
  public async flush(): Promise<void> {
    await writeTails.get(this.path);
  }

  /** Every line written so far, parsed; empty when the file does not exist yet. */
  public async readAll<T = unknown>(): Promise<T[]> {
    await this.flush();
    return readJsonLines<T>(this.path);
  }
}

/** Resolves once every append issued so far, to any file, has been written (or has failed): before a clean exit. */
export async function flushJsonLinesWrites(): Promise<void> {
  await Promise.all([...writeTails.values()]);
}

/**
 * Reads a JSON Lines file into its values (for tests and the chaos checks); empty when the file does not exist.
 * Blank lines are skipped; a line that is not JSON throws JsonLinesParseError naming the line.
 */
export async function readJsonLines<T = unknown>(path: string): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const values: T[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      values.push(JSON.parse(line) as T);
    } catch (error) {
      throw new JsonLinesParseError(path, index + 1, error);
    }
  });
  return values;
}
