import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  LOG_RETENTION_DAYS,
  loadStageConfig,
  logRetention,
  parseStageConfig,
  StageConfigError,
} from '../../lib/config.js';
import { cdkJsonContext } from '../fixtures/cdk-app.js';

const VALID = {
  stageName: 'dev',
  logRetentionDays: 14,
  apiThrottleRateLimit: 50,
  apiThrottleBurstLimit: 100,
  functionMemoryMb: 512,
  emailFromAddress: 'orders@example.com',
} as const;

function nodeWithContext(context: Record<string, unknown>): App['node'] {
  return new App({ context }).node;
}

describe('parseStageConfig', () => {
  it('accepts a complete, valid configuration as it is', () => {
    // Act
    const config = parseStageConfig({
      ...VALID,
      alarmEmail: 'ops@example.com',
      manageApiGatewayLoggingRole: true,
    });

    // Assess
    expect(config).toEqual({
      ...VALID,
      alarmEmail: 'ops@example.com',
      manageApiGatewayLoggingRole: true,
      emailIdentity: 'example.com',
    });
  });

  it.each([
    ['no identity', 'orders@example.com', undefined, 'example.com'],
    ['an empty identity (-c emailIdentity=)', 'orders@example.com', '', 'example.com'],
    ['the domain', 'orders@example.com', 'example.com', 'example.com'],
    ['the domain in other case, in lower case', 'Orders@Example.com', 'example.COM', 'example.com'],
    ['the From address, in lower case', 'Orders@Example.COM', undefined, 'example.com'],
    ['the address itself', 'orders@shop.example.org', 'orders@shop.example.org', 'orders@shop.example.org'],
  ])('takes the e-mail identity from %s', (_case, emailFromAddress, emailIdentity, expected) => {
    // Act
    const config = parseStageConfig({ ...VALID, emailFromAddress, emailIdentity });

    // Assess
    expect(config).toMatchObject({ emailFromAddress, emailIdentity: expected });
  });

  it.each([
    ['logRetentionDays', '30', 30],
    ['apiThrottleRateLimit', '75', 75],
    ['apiThrottleBurstLimit', '150', 150],
    ['functionMemoryMb', '1024', 1024],
  ])('converts the command-line string of %s to a number', (key, raw, expected) => {
    // Act
    const config = parseStageConfig({ ...VALID, [key]: raw });

    // Assess
    expect(config[key as keyof typeof config]).toBe(expected);
  });

  it.each([
    ['true', true],
    ['false', false],
  ])('converts manageApiGatewayLoggingRole=%s to a boolean', (raw, expected) => {
    // Act
    const config = parseStageConfig({ ...VALID, manageApiGatewayLoggingRole: raw });

    // Assess
    expect(config.manageApiGatewayLoggingRole).toBe(expected);
  });

  it.each(['', null])('treats the alarm e-mail %j as no subscription', (alarmEmail) => {
    // Act
    const config = parseStageConfig({ ...VALID, alarmEmail });

    // Assess
    expect(config).not.toHaveProperty('alarmEmail');
  });

  it.each([
    ['stageName', 'Dev', 'stageName'],
    ['stageName', '1dev', 'stageName'],
    ['stageName', 'a-stage-name-that-is-too-long', 'stageName'],
    ['alarmEmail', 'not-an-address', 'alarmEmail'],
    ['logRetentionDays', 2, 'logRetentionDays'],
    ['logRetentionDays', 'forever', 'logRetentionDays'],
    ['logRetentionDays', 9999, 'logRetentionDays'],
    ['apiThrottleRateLimit', 0, 'apiThrottleRateLimit'],
    ['apiThrottleRateLimit', 10.5, 'apiThrottleRateLimit'],
    ['apiThrottleBurstLimit', 5001, 'apiThrottleBurstLimit'],
    ['functionMemoryMb', 127, 'functionMemoryMb'],
    ['functionMemoryMb', 10_241, 'functionMemoryMb'],
    ['manageApiGatewayLoggingRole', 'yes', 'manageApiGatewayLoggingRole'],
    ['emailFromAddress', 'orders', 'emailFromAddress'],
    ['emailFromAddress', 'orders@', 'emailFromAddress'],
    ['emailFromAddress', 42, 'emailFromAddress'],
    ['emailIdentity', 'not a domain', 'emailIdentity'],
    ['emailIdentity', 'localhost', 'emailIdentity'],
    ['emailIdentity', 'other.example', 'emailIdentity'],
    ['emailIdentity', 'mail.example.com', 'emailIdentity'],
    ['emailIdentity', 'sales@example.com', 'emailIdentity'],
    ['unknownKey', 1, '(root)'],
  ])('rejects %s = %j, naming %s', (key, value, named) => {
    // Act
    const parse = (): unknown => parseStageConfig({ ...VALID, [key]: value });

    // Assess
    expect(parse).toThrow(StageConfigError);
    expect(parse).toThrow(`Invalid context "${named}"`);
  });

  it.each([
    'stageName',
    'logRetentionDays',
    'apiThrottleRateLimit',
    'apiThrottleBurstLimit',
    'functionMemoryMb',
    'emailFromAddress',
  ])('requires %s', (key) => {
    // Prepare
    const { [key as keyof typeof VALID]: _omitted, ...incomplete } = VALID;

    // Act
    const parse = (): unknown => parseStageConfig(incomplete);

    // Assess
    expect(parse).toThrow(`Invalid context "${key}"`);
  });
});

describe('loadStageConfig', () => {
  it.each([
    ['dev', 14, 512],
    ['prod', 365, 1024],
  ])('selects the %s preset of cdk.json', (stage, logRetentionDays, functionMemoryMb) => {
    // Prepare
    const node = nodeWithContext({ ...cdkJsonContext(), stage });

    // Act
    const config = loadStageConfig(node);

    // Assess
    expect(config).toMatchObject({
      stageName: stage,
      logRetentionDays,
      functionMemoryMb,
      emailFromAddress: 'orders@example.com',
      emailIdentity: 'example.com',
    });
  });

  it('defaults to the dev stage', () => {
    // Prepare
    const { stage: _stage, ...context } = cdkJsonContext();

    // Act
    const config = loadStageConfig(nodeWithContext(context));

    // Assess
    expect(config.stageName).toBe('dev');
  });

  it('lets command-line context override preset keys', () => {
    // Prepare
    const node = nodeWithContext({
      ...cdkJsonContext(),
      functionMemoryMb: '2048',
      alarmEmail: 'ops@example.com',
      manageApiGatewayLoggingRole: 'true',
      emailFromAddress: 'shop@mail.example.net',
      emailIdentity: 'mail.example.net',
    });

    // Act
    const config = loadStageConfig(node);

    // Assess
    expect(config).toMatchObject({
      functionMemoryMb: 2048,
      alarmEmail: 'ops@example.com',
      manageApiGatewayLoggingRole: true,
      emailFromAddress: 'shop@mail.example.net',
      emailIdentity: 'mail.example.net',
    });
  });

  it('names emailIdentity when a command-line From address leaves the preset identity behind', () => {
    // Prepare
    const node = nodeWithContext({
      ...cdkJsonContext(),
      emailFromAddress: 'shop@example.net',
      emailIdentity: 'example.com',
    });

    // Act
    const load = (): unknown => loadStageConfig(node);

    // Assess
    expect(load).toThrow(
      new StageConfigError(
        'Invalid context "emailIdentity": "example.com" does not cover the From address "shop@example.net" ' +
          '(emailFromAddress); use that address or its domain',
      ),
    );
  });

  it('names the known presets when the stage has none', () => {
    // Prepare
    const node = nodeWithContext({ ...cdkJsonContext(), stage: 'qa' });

    // Act
    const load = (): unknown => loadStageConfig(node);

    // Assess
    expect(load).toThrow(
      new StageConfigError('Invalid context "stage": no preset "qa" in "stages" (known: dev, prod)'),
    );
  });

  it('rejects a "stages" context that is not an object', () => {
    // Prepare
    const node = nodeWithContext({ stage: 'dev', stages: 'dev' });

    // Act
    const load = (): unknown => loadStageConfig(node);

    // Assess
    expect(load).toThrow('Invalid context "stages"');
  });
});

describe('logRetention', () => {
  it.each(LOG_RETENTION_DAYS.map((days) => [days]))(
    'maps %i days to the RetentionDays of that many days',
    (days) => {
      // Act
      const retention = logRetention({ logRetentionDays: days });

      // Assess
      expect(retention).toBe(days);
      expect(Object.values(RetentionDays)).toContain(retention);
    },
  );

  it.each([0, 2, 9999])('refuses %i days, which is no CloudWatch Logs retention of a stage', (days) => {
    // Act
    const map = (): unknown => logRetention({ logRetentionDays: days });

    // Assess
    expect(map).toThrow(StageConfigError);
  });
});
