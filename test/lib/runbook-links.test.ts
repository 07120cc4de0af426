import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { RUNBOOK_DEFAULT_BASE_URL } from '../../lib/constructs/runbook.js';
import { testApp } from '../fixtures/cdk-app.js';

/** The `<a id="...">` anchors of docs/runbook.md. */
function runbookAnchors(): Set<string> {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'docs/runbook.md'), 'utf8');
  return new Set([...text.matchAll(/<a id="([^"]+)"><\/a>/g)].map((match) => match[1]!));
}

/** Every alarm of both stacks of an app built with the given context, as name and description. */
function alarmsOf(context: Record<string, unknown> = {}): Array<{ name: unknown; description: string }> {
  const { stateful, stateless } = buildApp(testApp({ context }));
  return [stateful, stateless].flatMap((stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).map((alarm) => ({
      name: alarm.Properties.AlarmName,
      description: String(alarm.Properties.AlarmDescription),
    })),
  );
}

const RUNBOOK_LINK = /Runbook: (\S+)#([a-z0-9-]+)$/;

describe('runbook links in the alarm descriptions', () => {
  it('ends every alarm description of both stacks with a link to an existing section of docs/runbook.md', () => {
    // Prepare
    const anchors = runbookAnchors();

    // Act
    const alarms = alarmsOf();

    // Assess
    expect(alarms.length).toBe(4 * 9 + 2);
    for (const { name, description } of alarms) {
      const link = RUNBOOK_LINK.exec(description);
      expect(link, `${String(name)}: ${description}`).not.toBeNull();
      expect(link?.[1]).toBe(RUNBOOK_DEFAULT_BASE_URL);
      expect(anchors, `${String(name)} links to #${link?.[2]}`).toContain(link?.[2]);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
  });

  it('has a section for every kind of alarm, and no section no alarm links to', () => {
    // Prepare
    const anchors = runbookAnchors();

    // Act
    const linked = new Set(alarmsOf().map(({ description }) => RUNBOOK_LINK.exec(description)?.[2]));

    // Assess
    expect([...linked].sort()).toEqual([...anchors].sort());
  });

  it('names every alarm under its consumer, uniquely', () => {
    // Act
    const names = alarmsOf().map(({ name }) => String(name));

    // Assess
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(
        /^OrdersStreams-dev-Pipelines\/(order-fanout|search-sync|audit-log|vote-aggregator)\/[A-Z][A-Za-z]+$/,
      );
    }
  });

  it('takes the base of the links from the runbookBaseUrl context key', () => {
    // Prepare
    const base = 'https://git.example.com/shop/orders/blob/main/docs/runbook.md';

    // Act
    const alarms = alarmsOf({ runbookBaseUrl: base });

    // Assess
    for (const { description } of alarms) {
      expect(RUNBOOK_LINK.exec(description)?.[1]).toBe(base);
    }
  });
});
