import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  LOG_RETENTION_DAYS,
  loadStageConfig,
  logRetention,
  parseStageConfig,
  STAGE_CONFIG_KEYS,
  StageConfigError,
  searchClusterProblems,
} from '../../lib/config.js';
import { cdkJsonContext } from '../fixtures/cdk-app.js';

const VALID = {
  stageName: 'dev',
  logRetentionDays: 14,
  apiThrottleRateLimit: 50,
  apiThrottleBurstLimit: 100,
  functionMemoryMb: 512,
  emailFromAddress: 'orders@example.com',
  searchInstanceType: 't3.small.search',
  searchInstanceCount: 1,
  searchZoneAwareness: 1,
  searchVolumeGb: 10,
  searchDedicatedMasterCount: 0,
  searchMultiAzWithStandby: false,
  searchSyncReservedConcurrency: 2,
  auditRetentionMode: 'GOVERNANCE',
  auditRetentionDays: 1,
  auditColdStorageAfterDays: 30,
} as const;

/** A production-like search cluster: three zones with standby, dedicated masters. */
const HA_SEARCH = {
  searchInstanceType: 'r6g.large.search',
  searchInstanceCount: 3,
  searchZoneAwareness: 3,
  searchDedicatedMasterCount: 3,
  searchDedicatedMasterInstanceType: 'm6g.large.search',
  searchMultiAzWithStandby: true,
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
    ['searchInstanceCount', '2', 2],
    ['searchZoneAwareness', '1', 1],
    ['searchVolumeGb', '50', 50],
    ['searchDedicatedMasterCount', '0', 0],
    ['searchSyncReservedConcurrency', '7', 7],
    ['auditRetentionDays', '2555', 2555],
    ['auditColdStorageAfterDays', '90', 90],
  ])('converts the command-line string of %s to a number', (key, raw, expected) => {
    // Act
    const config = parseStageConfig({ ...VALID, [key]: raw });

    // Assess
    expect(config[key as keyof typeof config]).toBe(expected);
  });

  it.each([
    ['manageApiGatewayLoggingRole', 'true', true],
    ['manageApiGatewayLoggingRole', 'false', false],
    ['searchMultiAzWithStandby', 'false', false],
  ] as const)('converts %s=%s to a boolean', (key, raw, expected) => {
    // Act
    const config = parseStageConfig({ ...VALID, [key]: raw });

    // Assess
    expect(config[key]).toBe(expected);
  });

  it('accepts a highly available search cluster: three zones with standby and dedicated masters', () => {
    // Act
    const config = parseStageConfig({ ...VALID, ...HA_SEARCH });

    // Assess
    expect(config).toMatchObject(HA_SEARCH);
  });

  it.each(['searchAdminRoleArn', 'searchDedicatedMasterInstanceType'])(
    'treats an empty %s (-c key=) as unset',
    (key) => {
      // Act
      const config = parseStageConfig({ ...VALID, [key]: '' });

      // Assess
      expect(config).not.toHaveProperty(key);
    },
  );

  it.each([
    'arn:aws:iam::123456789012:role/search-admin',
    'arn:aws:iam::123456789012:role/ops/search-admin',
    'arn:aws-cn:iam::123456789012:user/alice',
  ])('accepts the search master user %s', (searchAdminRoleArn) => {
    // Act
    const config = parseStageConfig({ ...VALID, searchAdminRoleArn });

    // Assess
    expect(config.searchAdminRoleArn).toBe(searchAdminRoleArn);
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
    ['searchInstanceType', 't3.small', 'searchInstanceType'],
    ['searchInstanceType', 'T3.SMALL.SEARCH', 'searchInstanceType'],
    ['searchInstanceType', 't2.small.search', 'searchInstanceType'],
    ['searchInstanceType', 'i3.large.search', 'searchInstanceType'],
    ['searchInstanceCount', 0, 'searchInstanceCount'],
    ['searchInstanceCount', 81, 'searchInstanceCount'],
    ['searchZoneAwareness', 0, 'searchZoneAwareness'],
    ['searchZoneAwareness', 4, 'searchZoneAwareness'],
    ['searchVolumeGb', 9, 'searchVolumeGb'],
    ['searchVolumeGb', 'ten', 'searchVolumeGb'],
    ['searchDedicatedMasterCount', 2, 'searchDedicatedMasterCount'],
    ['searchDedicatedMasterCount', 4, 'searchDedicatedMasterCount'],
    ['searchDedicatedMasterInstanceType', 'm6g.large', 'searchDedicatedMasterInstanceType'],
    ['searchMultiAzWithStandby', 'yes', 'searchMultiAzWithStandby'],
    ['searchSyncReservedConcurrency', 0, 'searchSyncReservedConcurrency'],
    ['searchSyncReservedConcurrency', 1_001, 'searchSyncReservedConcurrency'],
    ['searchAdminRoleArn', 'search-admin', 'searchAdminRoleArn'],
    ['searchAdminRoleArn', 'arn:aws:iam::123456789012:policy/search', 'searchAdminRoleArn'],
    ['auditRetentionMode', 'governance', 'auditRetentionMode'],
    ['auditRetentionMode', 'LEGAL_HOLD', 'auditRetentionMode'],
    ['auditRetentionDays', 0, 'auditRetentionDays'],
    ['auditRetentionDays', 36_501, 'auditRetentionDays'],
    ['auditRetentionDays', 1.5, 'auditRetentionDays'],
    ['auditRetentionDays', 'seven years', 'auditRetentionDays'],
    ['auditColdStorageAfterDays', 0, 'auditColdStorageAfterDays'],
    ['auditColdStorageAfterDays', '30 days', 'auditColdStorageAfterDays'],
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
    'searchInstanceType',
    'searchInstanceCount',
    'searchZoneAwareness',
    'searchVolumeGb',
    'searchDedicatedMasterCount',
    'searchMultiAzWithStandby',
    'auditRetentionMode',
    'auditRetentionDays',
    'auditColdStorageAfterDays',
  ])('requires %s', (key) => {
    // Prepare
    const { [key as keyof typeof VALID]: _omitted, ...incomplete } = VALID;

    // Act
    const parse = (): unknown => parseStageConfig(incomplete);

    // Assess
    expect(parse).toThrow(`Invalid context "${key}"`);
  });
});

describe('search cluster combinations', () => {
  it.each<[string, Record<string, unknown>, string, string]>([
    [
      '4 nodes over 3 zones',
      { ...HA_SEARCH, searchInstanceCount: 4 },
      'searchInstanceCount',
      'must be a multiple of searchZoneAwareness (3): every Availability Zone holds the same number of data ' +
        'nodes, got 4',
    ],
    [
      '1 node over 2 zones',
      { searchZoneAwareness: 2 },
      'searchInstanceCount',
      'must be a multiple of searchZoneAwareness (2): every Availability Zone holds the same number of data ' +
        'nodes, got 1',
    ],
    [
      'dedicated masters without their instance type',
      { searchDedicatedMasterCount: 3 },
      'searchDedicatedMasterInstanceType',
      'is required when searchDedicatedMasterCount is 3',
    ],
    [
      'standby over two zones',
      { ...HA_SEARCH, searchInstanceCount: 2, searchZoneAwareness: 2 },
      'searchMultiAzWithStandby',
      'needs searchZoneAwareness 3 (two active zones and one standby), got 2',
    ],
    [
      'standby without dedicated masters',
      { ...HA_SEARCH, searchDedicatedMasterCount: 0 },
      'searchMultiAzWithStandby',
      'needs dedicated master nodes (searchDedicatedMasterCount 3 or 5)',
    ],
    [
      'standby on burstable instances',
      { ...HA_SEARCH, searchInstanceType: 't3.medium.search' },
      'searchMultiAzWithStandby',
      'is not available on burstable instance types such as t3.medium.search',
    ],
  ])('rejects %s, naming the key', (_case, search, key, problem) => {
    // Act
    const parse = (): unknown => parseStageConfig({ ...VALID, ...search });

    // Assess
    expect(parse).toThrow(new StageConfigError(`Invalid context "${key}": ${problem}`));
  });

  it('finds nothing wrong with either preset of cdk.json', () => {
    // Prepare
    const stages = cdkJsonContext().stages as Record<string, Record<string, unknown>>;

    // Act
    const problems = Object.values(stages).flatMap((preset) =>
      searchClusterProblems(parseStageConfig({ ...preset, stageName: 'x' })),
    );

    // Assess
    expect(problems).toEqual([]);
  });

  it('ignores the master instance type when there are no dedicated masters', () => {
    // Act
    const config = parseStageConfig({ ...VALID, searchDedicatedMasterInstanceType: 'm6g.large.search' });

    // Assess
    expect(searchClusterProblems(config)).toEqual([]);
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

  it('lets the command line override every key of the schema, converting numbers and booleans', () => {
    // Prepare: a value for every key, each unlike the dev preset's, given as the strings `-c key=value` yields.
    const everyKey = {
      alarmEmail: 'ops@example.com',
      runbookBaseUrl: 'https://git.example.net/orders/blob/main/docs/runbook.md',
      emailFromAddress: 'shop@mail.example.net',
      emailIdentity: 'mail.example.net',
      logRetentionDays: 30,
      apiThrottleRateLimit: 20,
      apiThrottleBurstLimit: 40,
      functionMemoryMb: 1024,
      manageApiGatewayLoggingRole: true,
      ...HA_SEARCH,
      searchVolumeGb: 20,
      searchSyncReservedConcurrency: 3,
      searchAdminRoleArn: 'arn:aws:iam::123456789012:role/search-admin',
      auditRetentionMode: 'COMPLIANCE',
      auditRetentionDays: 30,
      auditColdStorageAfterDays: 60,
    };
    const fromCommandLine = Object.fromEntries(
      Object.entries(everyKey).map(([key, value]) => [key, String(value)]),
    );

    // Act
    const config = loadStageConfig(
      nodeWithContext({ ...cdkJsonContext(), stage: 'dev', ...fromCommandLine }),
    );

    // Assess: a key added to the schema fails the first check until it is here, and then the second unless the
    // override lists (derived from the schema) take it and convert it.
    expect(['stageName', ...Object.keys(everyKey)].sort()).toEqual([...STAGE_CONFIG_KEYS].sort());
    expect(config).toEqual({ stageName: 'dev', ...everyKey });
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
      searchInstanceType: 'm6g.large.search',
      searchInstanceCount: '2',
      searchZoneAwareness: '2',
      searchVolumeGb: '20',
      searchSyncReservedConcurrency: '3',
      searchAdminRoleArn: 'arn:aws:iam::123456789012:role/search-admin',
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
      searchInstanceType: 'm6g.large.search',
      searchInstanceCount: 2,
      searchZoneAwareness: 2,
      searchVolumeGb: 20,
      searchSyncReservedConcurrency: 3,
      searchAdminRoleArn: 'arn:aws:iam::123456789012:role/search-admin',
    });
  });

  it.each([
    [
      'dev',
      {
        searchInstanceType: 't3.small.search',
        searchInstanceCount: 1,
        searchZoneAwareness: 1,
        searchDedicatedMasterCount: 0,
        searchMultiAzWithStandby: false,
      },
    ],
    [
      'prod',
      {
        searchInstanceType: 'r6g.large.search',
        searchInstanceCount: 3,
        searchZoneAwareness: 3,
        searchDedicatedMasterCount: 3,
        searchDedicatedMasterInstanceType: 'm6g.large.search',
        searchMultiAzWithStandby: true,
      },
    ],
  ])('gives the %s stage its search cluster', (stage, search) => {
    // Act
    const config = loadStageConfig(nodeWithContext({ ...cdkJsonContext(), stage }));

    // Assess
    expect(config).toMatchObject(search);
    expect(config).not.toHaveProperty('searchAdminRoleArn');
    // No reservation: a new account with a concurrency quota of 10 refuses any (issue 13).
    expect(config).not.toHaveProperty('searchSyncReservedConcurrency');
  });

  it('leaves the search-sync reservation optional', () => {
    // Prepare
    const { searchSyncReservedConcurrency: _omitted, ...withoutReservation } = VALID;

    // Act
    const config = parseStageConfig(withoutReservation);

    // Assess
    expect(config.searchSyncReservedConcurrency).toBeUndefined();
  });

  it.each([
    ['dev', { auditRetentionMode: 'GOVERNANCE', auditRetentionDays: 1, auditColdStorageAfterDays: 30 }],
    ['prod', { auditRetentionMode: 'COMPLIANCE', auditRetentionDays: 2555, auditColdStorageAfterDays: 90 }],
  ])('gives the %s stage its audit retention and cold storage', (stage, audit) => {
    // Act
    const config = loadStageConfig(nodeWithContext({ ...cdkJsonContext(), stage }));

    // Assess
    expect(config).toMatchObject(audit);
  });

  it('lets the command line override the audit keys', () => {
    // Prepare
    const node = nodeWithContext({
      ...cdkJsonContext(),
      auditRetentionMode: 'COMPLIANCE',
      auditRetentionDays: '7',
      auditColdStorageAfterDays: '60',
    });

    // Act
    const config = loadStageConfig(node);

    // Assess
    expect(config).toMatchObject({
      auditRetentionMode: 'COMPLIANCE',
      auditRetentionDays: 7,
      auditColdStorageAfterDays: 60,
    });
  });

  it('names auditRetentionMode when the command line gives an unknown mode', () => {
    // Prepare
    const node = nodeWithContext({ ...cdkJsonContext(), auditRetentionMode: 'compliance' });

    // Act
    const load = (): unknown => loadStageConfig(node);

    // Assess
    expect(load).toThrow(
      new StageConfigError('Invalid context "auditRetentionMode": must be one of GOVERNANCE, COMPLIANCE'),
    );
  });

  it('names searchMultiAzWithStandby when a command-line override leaves the prod preset with too few zones', () => {
    // Prepare
    const node = nodeWithContext({ ...cdkJsonContext(), stage: 'prod', searchZoneAwareness: '1' });

    // Act
    const load = (): unknown => loadStageConfig(node);

    // Assess
    expect(load).toThrow('Invalid context "searchMultiAzWithStandby": needs searchZoneAwareness 3');
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
