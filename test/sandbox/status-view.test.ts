import { describe, expect, it } from 'vitest';
import {
  fitToWidth,
  formatDuration,
  plainBlock,
  renderServices,
  renderStatus,
  type StatusSnapshot,
  startStatusView,
  terminalFrame,
} from '../../sandbox/status-view.js';
import type { ConsumerStatus } from '../../sandbox/system.js';

/** The escape character that starts every terminal control sequence. */
const ESC = '\u001b';

function consumerStatus(overrides: Partial<ConsumerStatus> = {}): ConsumerStatus {
  return {
    consumerName: 'probe',
    recordsRead: 0,
    recordsFiltered: 0,
    recordsProcessed: 0,
    invocations: 0,
    failedInvocations: 0,
    recordsToOnFailure: 0,
    recordsRedelivered: 0,
    iteratorAgeMs: 0,
    pending: 0,
    dlqCount: 0,
    lagSamples: 0,
    lagP50Ms: null,
    lagP99Ms: null,
    lagMaxMs: null,
    ...overrides,
  };
}

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return { elapsedMs: 65_000, consumers: {}, ...overrides };
}

/** A fake output stream recording what the view writes. */
function fakeOutput(isTTY: boolean): { isTTY: boolean; writes: string[]; write(text: string): boolean } {
  const writes: string[] = [];
  return {
    isTTY,
    writes,
    write(text: string): boolean {
      writes.push(text);
      return true;
    },
  };
}

describe('formatDuration', () => {
  it.each([
    [null, '-'],
    [undefined, '-'],
    [Number.NaN, '-'],
    [0, '0 ms'],
    [849.6, '850 ms'],
    [1000, '1.0 s'],
    [4249, '4.2 s'],
    [59_999, '60.0 s'],
    [60_000, '1m 00s'],
    [187_000, '3m 07s'],
    [3_600_000, '1h 00m'],
    [5_580_000, '1h 33m'],
  ])('formats %s as %j', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('renderStatus', () => {
  it('shows one aligned row per consumer, sorted by name, with the counters and lag', () => {
    // Prepare
    const consumers = {
      'vote-aggregator': consumerStatus({
        consumerName: 'vote-aggregator',
        recordsProcessed: 12,
        invocations: 3,
        lagP50Ms: 120,
        lagP99Ms: 2500,
      }),
      'audit-log': consumerStatus({
        consumerName: 'audit-log',
        recordsProcessed: 1234,
        invocations: 56,
        failedInvocations: 2,
        dlqCount: 1,
        iteratorAgeMs: 1500,
      }),
    };

    // Act
    const lines = renderStatus(
      snapshot({
        consumers,
        traffic: { operations: 100, ok: 97, rejected: 2, errors: 1 },
        api: { requests: 105, byStatus: { '201': 105 } },
      }),
    );

    // Assess
    expect(lines).toEqual([
      'sandbox up 1m 05s | demo traffic 100 writes (97 2xx, 2 other, 1 no answer) | API 105 requests',
      'consumer         processed  batches  failed  DLQ  iter age  lag p50  lag p99',
      'audit-log             1234       56       2    1     1.5 s        -        -',
      'vote-aggregator         12        3       0    0      0 ms   120 ms    2.5 s',
    ]);
  });

  it('says so when there are no consumers, and leaves traffic out when none runs', () => {
    // Act
    const lines = renderStatus(snapshot({ elapsedMs: 3000 }));

    // Assess
    expect(lines).toEqual([
      'sandbox up 3.0 s',
      'No stream consumers in the template yet: the pipelines add them.',
    ]);
  });

  it('contains no terminal control sequence', () => {
    // Act
    const text = renderStatus(snapshot({ consumers: { probe: consumerStatus() } })).join('\n');

    // Assess
    expect(text).not.toContain(ESC);
  });
});

describe('terminalFrame', () => {
  it.each([
    [0, '\u001b[0Ja\nb\n'],
    [3, '\u001b[3F\u001b[0Ja\nb\n'],
  ])('after a frame of %d lines writes %j', (previous, expected) => {
    expect(terminalFrame(['a', 'b'], previous)).toBe(expected);
  });
});

describe('fitToWidth', () => {
  it.each([
    [['short', 'exactly9!'], 10, ['short', 'exactly9!']],
    [['exactly10!'], 10, ['exactly1…']],
    [['a much longer line'], 8, ['a much…']],
    [['a much longer line'], undefined, ['a much longer line']],
  ])('fits %j into %s columns', (lines, columns, expected) => {
    expect(fitToWidth(lines, columns)).toEqual(expected);
  });
});

describe('startStatusView', () => {
  it('on a terminal draws at once and redraws over the previous frame when stopped', () => {
    // Prepare
    const output = fakeOutput(true);
    let processed = 0;
    const view = startStatusView({
      output,
      refreshMs: 3_600_000,
      snapshot: () => snapshot({ consumers: { probe: consumerStatus({ recordsProcessed: processed }) } }),
    });
    processed = 5;

    // Act
    view.stop();
    view.stop();

    // Assess
    expect(output.writes).toHaveLength(2);
    expect(output.writes[0]?.startsWith(`${ESC}[0Jsandbox up`)).toBe(true);
    expect(output.writes[0]).toMatch(/probe +0 /);
    expect(output.writes[1]?.startsWith(`${ESC}[3F${ESC}[0J`)).toBe(true);
    expect(output.writes[1]).toMatch(/probe +5 /);
  });

  it('off a terminal writes plain time-stamped blocks only', () => {
    // Prepare
    const output = fakeOutput(false);
    const at = new Date('2024-05-01T12:00:00.000Z');
    const view = startStatusView({
      output,
      plainIntervalMs: 3_600_000,
      now: () => at,
      snapshot: () => snapshot({ consumers: { probe: consumerStatus() } }),
    });

    // Act
    view.stop();

    // Assess
    expect(output.writes).toEqual([
      plainBlock(renderStatus(snapshot({ consumers: { probe: consumerStatus() } })), at),
    ]);
    expect(output.writes[0]).toMatch(/^\n\[2024-05-01T12:00:00\.000Z\]\nsandbox up/);
    expect(output.writes.join('')).not.toContain(ESC);
  });
});

describe('what the consumers sent', () => {
  const services = {
    sns: { publishedByTopic: { 'order-events': 12, other: 1 } },
    ses: { sentByTemplate: { placed: 4, shipped: 2 } },
    sqs: { enqueued: 5, deduplicated: 0 },
  } as unknown as NonNullable<StatusSnapshot['services']>;

  it('is one line under the header when the snapshot has the services', () => {
    // Act
    const lines = renderStatus(snapshot({ consumers: { probe: consumerStatus() }, services }));

    // Assess
    expect(lines[1]).toBe('sent: 13 SNS events, 6 e-mails, 5 SQS messages');
    expect(lines[2]).toMatch(/^consumer/);
  });

  it('says how many duplicates SQS dropped, when it dropped any', () => {
    // Act
    const line = renderServices({ ...services, sqs: { ...services.sqs, deduplicated: 2 } });

    // Assess
    expect(line).toBe('sent: 13 SNS events, 6 e-mails, 5 SQS messages (2 duplicates dropped)');
  });

  it('is absent without the services', () => {
    expect(renderStatus(snapshot({ consumers: { probe: consumerStatus() } }))[1]).toMatch(/^consumer/);
  });
});

describe('the search index', () => {
  it('is one line after what was sent: its orders, tombstones and the OpenSearch requests', () => {
    // Act
    const lines = renderStatus(
      snapshot({
        consumers: { probe: consumerStatus() },
        search: { index: 'orders', documents: 40, tombstones: 3, requests: 17 },
      }),
    );

    // Assess
    expect(lines[1]).toBe('search index orders: 40 orders, 3 tombstones (17 OpenSearch requests)');
    expect(lines[2]).toMatch(/^consumer/);
  });
});
