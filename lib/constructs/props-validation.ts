import type { Duration } from 'aws-cdk-lib';

/**
 * Thrown at synth when a construct is given props it cannot build a sound resource from. The message names the
 * construct's path and the prop, so the fix is obvious from the error alone.
 */
export class InvalidPropsError extends Error {
  public constructor(constructPath: string, prop: string, problem: string) {
    super(`${constructPath}: invalid "${prop}": ${problem}`);
    this.name = 'InvalidPropsError';
  }
}

/** Requires an integer within [min, max]; `hint` says why the bounds are what they are. */
export function requireIntegerInRange(
  constructPath: string,
  prop: string,
  value: number,
  range: { readonly min: number; readonly max: number; readonly hint?: string },
): void {
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    const hint = range.hint === undefined ? '' : ` (${range.hint})`;
    throw new InvalidPropsError(
      constructPath,
      prop,
      `must be an integer from ${range.min} to ${range.max}, got ${value}${hint}`,
    );
  }
}

/**
 * Requires a concrete duration of whole seconds within [min, max] seconds and returns it in seconds. Tokens are
 * refused: every caller derives something (an alarm threshold, a bound) from the value at synth time.
 */
export function requireSecondsInRange(
  constructPath: string,
  prop: string,
  value: Duration,
  range: { readonly min: number; readonly max: number; readonly hint?: string },
): number {
  if (value.isUnresolved()) {
    throw new InvalidPropsError(constructPath, prop, 'must be a concrete duration, not a token');
  }
  const seconds = wholeMilliseconds(value) / 1000;
  if (!Number.isInteger(seconds) || seconds < range.min || seconds > range.max) {
    const hint = range.hint === undefined ? '' : ` (${range.hint})`;
    throw new InvalidPropsError(
      constructPath,
      prop,
      `must be whole seconds from ${range.min} s to ${range.max} s, got ${value.toString()}${hint}`,
    );
  }
  return seconds;
}

/** The duration in milliseconds; NaN for one that has no whole number of them (an infinite one, say). */
function wholeMilliseconds(value: Duration): number {
  try {
    return value.toMilliseconds();
  } catch {
    // Duration refuses the conversion rather than return a fraction or Infinity: not a valid duration here.
    return Number.NaN;
  }
}
