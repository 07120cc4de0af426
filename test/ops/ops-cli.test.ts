import { describe, expect, it } from 'vitest';
import { OPS_USAGE, runOpsCli } from '../../ops/ops-cli.js';
import { captureIo, createFakeAws, createSqsClient, depsFor } from './ops-fixtures.js';

describe('npm run ops usage', () => {
  it('prints the overall help with --help and exits 0', async () => {
    // Prepare
    const io = captureIo();

    // Act
    const code = await runOpsCli(['--help'], io, depsFor(createFakeAws(createSqsClient())));

    // Assess
    expect(code).toBe(0);
    expect(io.out()).toBe(`${OPS_USAGE}\n`);
  });

  it.each([
    ['status', 'maximum IteratorAge over the last'],
    ['dlq', "hides it from the queue's other readers for 30 seconds"],
    ['api', 'signed with SigV4 (service'],
    ['replay', "Rebuilds a consumer's effects from the audit log"],
  ])('prints the help of %s with --help, without calling AWS', async (command, excerpt) => {
    // Prepare
    const fake = createFakeAws(createSqsClient());
    const io = captureIo();

    // Act
    const code = await runOpsCli([command, '--help'], io, depsFor(fake));

    // Assess
    expect(code).toBe(0);
    expect(io.out().replace(/\s+/g, ' ')).toContain(excerpt);
    expect(fake.stacksAsked).toEqual([]);
  });

  it.each([
    [[], 'a command is required'],
    [['rewind', '--stage', 'test'], 'unknown command "rewind"'],
    [['redrive', '--stage', 'test'], 'redrive: <consumer> must be one of'],
    [['status'], '--stage is required'],
    [['status', '--stage', 'Prod'], '--stage must be 1-20 lowercase letters'],
    [['status', '--stage', 'test', '--region', 'mars'], '--region must be an AWS region'],
    [['status', '--stage', 'test', '--verbose'], "Unknown option '--verbose'"],
    [['status', '--stage', 'test', '--limit', '3'], '--limit does not apply to status'],
    [['dlq', 'list', 'order-fanout', '--stage', 'test', '--limit', '0'], '--limit must be an integer >= 1'],
    [['dlq', 'peek', 'order-fanout', '--stage', 'test'], 'dlq: the action must be list or show, got "peek"'],
    [['dlq', 'list', 'orders', '--stage', 'test'], 'dlq: <consumer> must be one of order-fanout'],
    [['api', 'FETCH', '/orders', '--stage', 'test'], 'api: <METHOD> must be one of GET'],
    [['api', 'GET', 'orders', '--stage', 'test'], 'api: <path> must start with /'],
    [['api', 'POST', '/orders', '--stage', 'test', '--body', '{oops'], '--body must be JSON'],
  ])('answers %j with exit code 2 and a message naming the flag or argument', async (argv, message) => {
    // Prepare
    const fake = createFakeAws(createSqsClient());
    const io = captureIo();

    // Act
    const code = await runOpsCli(argv, io, depsFor(fake));

    // Assess
    expect(code).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).toContain('Usage: npm run ops --');
    expect(io.out()).toBe('');
    expect(fake.stacksAsked).toEqual([]);
  });
});
