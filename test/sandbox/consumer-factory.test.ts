import { describe, expect, it } from 'vitest';
import { ConsumerWiringError, requireTemplateVariable } from '../../sandbox/consumer-factory.js';

describe('requireTemplateVariable', () => {
  it('returns the variable the template sets', () => {
    // Prepare
    const env = { CONSUMER_NAME: 'search-sync' };

    // Act
    const value = requireTemplateVariable(env, 'search-sync', 'CONSUMER_NAME');

    // Assess
    expect(value).toBe('search-sync');
  });

  it('throws ConsumerWiringError naming the function and the missing variable', () => {
    // Act
    const build = (): unknown => requireTemplateVariable({}, 'audit-log', 'AUDIT_BUCKET_NAME');

    // Assess
    expect(build).toThrow(ConsumerWiringError);
    expect(build).toThrow('The audit-log function has no AUDIT_BUCKET_NAME variable in the template');
  });

  it('keeps the function and the variable on the error', () => {
    // Act
    const error = new ConsumerWiringError('vote-aggregator', 'POLL_RESULTS_TABLE_NAME');

    // Assess
    expect(error).toMatchObject({
      name: 'ConsumerWiringError',
      consumerName: 'vote-aggregator',
      variable: 'POLL_RESULTS_TABLE_NAME',
    });
  });
});
