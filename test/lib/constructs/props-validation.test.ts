import { Duration, Token } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  InvalidPropsError,
  requireIntegerInRange,
  requireSecondsInRange,
} from '../../../lib/constructs/props-validation.js';
import { thrownBy } from '../../fixtures/cdk-app.js';

describe('requireIntegerInRange', () => {
  it.each([1, 5, 10])('accepts %i within 1..10', (value) => {
    // Act
    const check = (): void => requireIntegerInRange('Stack/Thing', 'count', value, { min: 1, max: 10 });

    // Assess
    expect(check).not.toThrow();
  });

  it.each([0, 11, 2.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'rejects %d outside 1..10 or not an integer',
    (value) => {
      // Act
      const error = thrownBy(() =>
        requireIntegerInRange('Stack/Thing', 'count', value, { min: 1, max: 10, hint: 'why' }),
      );

      // Assess
      expect(error).toBeInstanceOf(InvalidPropsError);
      expect(error.message).toBe(
        `Stack/Thing: invalid "count": must be an integer from 1 to 10, got ${value} (why)`,
      );
    },
  );
});

describe('requireSecondsInRange', () => {
  it.each([
    [Duration.seconds(60), 60],
    [Duration.minutes(5), 300],
    [Duration.millis(0), 0],
  ])('returns %s as %i seconds', (value, seconds) => {
    // Act
    const result = requireSecondsInRange('Stack/Thing', 'age', value, { min: 0, max: 300 });

    // Assess
    expect(result).toBe(seconds);
  });

  it.each([
    ['below the range', Duration.seconds(59)],
    ['above the range', Duration.minutes(6)],
    ['fractional seconds', Duration.millis(60_500)],
    ['infinite', Duration.seconds(Number.POSITIVE_INFINITY)],
    ['a token', Duration.seconds(Token.asNumber({ Ref: 'Age' }))],
  ])('rejects a duration %s', (_case, value) => {
    // Act
    const error = thrownBy(() => requireSecondsInRange('Stack/Thing', 'age', value, { min: 60, max: 300 }));

    // Assess
    expect(error).toBeInstanceOf(InvalidPropsError);
    expect(error.message).toMatch(
      /^Stack\/Thing: invalid "age": must be (whole seconds from 60 s to 300 s|a concrete)/,
    );
  });
});
