import { type ParseArgsConfig, parseArgs } from 'node:util';

/**
 * Command-line parsing shared by the sandbox's CLIs (`npm start`, `chaos`, `bench`, `backfill:search`,
 * `reconcile:votes`...): one error class
 * for a bad flag (the CLIs answer it with the message, their usage and exit code 2), and the value checks they share.
 */

/** Thrown for a bad command-line flag; the message names the flag. */
export class UsageError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` in strict mode with no positionals; its own errors (unknown flag, missing value) become UsageErrors. */
export function parseFlags<T extends FlagOptions>(
  argv: readonly string[],
  options: T,
): ReturnType<typeof parseArgs<{ options: T; allowPositionals: false; strict: true }>>['values'] {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** An integer flag of at least `min`; the error names the flag. */
export function integerFlag(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

/** A finite number flag above zero; the error names the flag. */
export function positiveNumberFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a number > 0, got "${raw}"`);
  }
  return value;
}

/** A probability flag from 0 to 1; the error names the flag. */
export function probabilityFlag(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`--${flag} must be a probability from 0 to 1, got "${raw}"`);
  }
  return value;
}

/** A required, non-empty string flag; the error names the flag and says what it is. */
export function requiredFlag(flag: string, raw: string | undefined, what: string): string {
  if (raw === undefined || raw.trim() === '') {
    throw new UsageError(`--${flag} is required: ${what}`);
  }
  return raw;
}

/**
 * A URL flag: http(s), scheme and host (and port) only, as an endpoint is given; the error names the flag and shows
 * `example`.
 */
export function urlFlag(flag: string, raw: string, example = 'https://<host>'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--${flag} must be a URL like ${example}, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--${flag} must be an http or https URL, got "${raw}"`);
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new UsageError(
      `--${flag} must be a scheme and host only (no path, query or credentials), got "${raw}"`,
    );
  }
  return url;
}

const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A point in time: an ISO-8601 date-time with its zone (`Z` or `+hh:mm`), or a date (its start, UTC). A time
 * without a zone is refused: read on an operator's laptop, it would mean another hour than on the stage.
 */
export function instantFlag(flag: string, raw: string): Date {
  const time = INSTANT.test(raw) ? Date.parse(raw.length === 10 ? `${raw}T00:00:00Z` : raw) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `--${flag} must be an ISO-8601 date-time with its zone (2026-12-01T09:30:00Z) or a date (2026-12-01), got "${raw}"`,
    );
  }
  return new Date(time);
}
