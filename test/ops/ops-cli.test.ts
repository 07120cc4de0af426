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
    ['backfill', "The Orders table and the search endpoint come from the stage's outputs"],
    ['reconcile', "The Votes and PollResults tables come from the stage's outputs"],
    ['history', "The audit bucket comes from the stage's outputs"],
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
    [['backfill', '--stage', 'test'], 'backfill: the target must be search, got none'],
    [['backfill', 'index', '--stage', 'test'], 'backfill: the target must be search, got "index"'],
    [
      ['backfill', 'search', 'orders', '--stage', 'test'],
      'backfill search takes no other argument, got "orders"',
    ],
    [
      ['backfill', 'search', '--stage', 'test', '--dry-run', '--verify'],
      '--dry-run and --verify cannot be combined',
    ],
    [['backfill', 'search', '--stage', 'test', '--segments', '0'], '--segments must be an integer >= 1'],
    [['backfill', 'search', '--stage', 'test', '--segments', '1001'], '--segments must be at most 1000'],
    [['backfill', 'search', '--stage', 'test', '--replicas', 'one'], '--replicas must be an integer >= 0'],
    [['backfill', 'search', '--stage', 'test', '--fix'], '--fix does not apply to backfill'],
    [['backfill', 'search'], '--stage is required'],
    [['reconcile', 'polls', '--stage', 'test'], 'reconcile: the target must be votes, got "polls"'],
    [['reconcile', 'votes', '--stage', 'test', '--poll', ' '], '--poll must not be empty'],
    [
      ['reconcile', 'votes', '--stage', 'test', '--poll', 'p-1', '--segments', '2'],
      '--segments applies to the scan of every poll',
    ],
    [['reconcile', 'votes', '--stage', 'test', '--attempts', '2'], '--attempts applies only with --fix'],
    [
      ['reconcile', 'votes', '--stage', 'test', '--wait-seconds', '5'],
      '--wait-seconds applies only with --fix',
    ],
    [
      ['reconcile', 'votes', '--stage', 'test', '--fix', '--wait-seconds', '0'],
      '--wait-seconds must be a number > 0',
    ],
    [
      ['reconcile', 'votes', '--stage', 'test', '--fix', '--attempts', '101'],
      '--attempts must be at most 100',
    ],
    [['reconcile', 'votes', '--stage', 'test', '--verify'], '--verify does not apply to reconcile'],
    [['history', '--stage', 'test'], '<orderId> is required'],
    [['history', 'o-1', 'o-2', '--stage', 'test'], 'expected one <orderId>, got 2 arguments: o-1 o-2'],
    [
      ['history', 'o-1', '--stage', 'test', '--since', '2024-02-30'],
      '--since must be a UTC day as YYYY-MM-DD',
    ],
    [
      ['history', 'o-1', '--stage', 'test', '--since', '2024-05-02', '--until', '2024-05-01'],
      '--since (2024-05-02) is after --until (2024-05-01)',
    ],
    [['history', 'o-1', '--stage', 'test', '--segments', '2'], '--segments does not apply to history'],
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
    expect(fake.searchClientsAsked).toEqual([]);
    expect(fake.auditBucketsAsked).toEqual([]);
  });
});
