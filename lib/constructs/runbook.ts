/**
 * Where each alarm's runbook section lives: docs/runbook.md, one section per alarm kind, each with a stable
 * `<a id="...">` anchor. Every alarm's description ends with `Runbook: <base>#<anchor>`, so that the notification
 * an operator receives says where to look. The test of the alarms reads docs/runbook.md and checks every anchor.
 */

/** The runbook's path in the repository: the base of the links when the stage sets no `runbookBaseUrl`. */
export const RUNBOOK_DEFAULT_BASE_URL = 'docs/runbook.md';

/** The runbook anchor of each alarm kind the stacks create. */
export const RUNBOOK_ANCHORS = {
  iteratorAge: 'consumer-iterator-age',
  deadLetters: 'consumer-dlq-messages',
  errors: 'consumer-errors',
  throttles: 'consumer-throttles',
  internalErrors: 'consumer-internal-errors',
  droppedRecords: 'consumer-dropped-records',
  onFailureDelivered: 'consumer-on-failure-delivered',
  destinationDeliveryFailures: 'consumer-destination-delivery-failures',
  notReading: 'consumer-not-reading',
  warehouseStuck: 'warehouse-stuck',
  warehouseBacklog: 'warehouse-backlog',
} as const;
export type RunbookAnchor = (typeof RUNBOOK_ANCHORS)[keyof typeof RUNBOOK_ANCHORS];

/** The link to one runbook section: `<base>#<anchor>`. */
export function runbookLink(baseUrl: string, anchor: RunbookAnchor): string {
  return `${baseUrl}#${anchor}`;
}

/** An alarm description with its runbook link appended: `<description> Runbook: <base>#<anchor>`. */
export function withRunbookLink(description: string, baseUrl: string, anchor: RunbookAnchor): string {
  return `${description} Runbook: ${runbookLink(baseUrl, anchor)}`;
}
