import { type AttributeValue, type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import * as z from 'zod';
import { describeError } from '../../lambdas/shared/errors.js';
import type { Order } from '../../lambdas/shared/orders/order.js';
import { orderFromImage } from '../../lambdas/shared/orders/order-image.js';
import { decodeItem, type RawItem } from '../../lambdas/shared/stream/lossless.js';

/**
 * The backfill's read side: a parallel scan of the Orders table, segment by segment (each a paginateScan with
 * Segment/TotalSegments, strongly consistent), page by page. Items are decoded exactly as the search sync decodes a
 * stream image (lossless numbers, orderFromImage), so the backfill writes the very document the stream would.
 */

/** Items per scanned page: one `_bulk` request per page, the search sync's batch size. */
export const SCAN_PAGE_SIZE = 100;

/** A table item that is not an order this code understands (it goes nowhere, and is reported). */
export interface InvalidItem {
  /** Its `orderId` when it has a string one. */
  readonly orderId: string | undefined;
  readonly reason: string;
}

/** One scanned page, decoded. */
export interface ScannedPage {
  readonly segment: number;
  readonly orders: readonly Order[];
  readonly invalid: readonly InvalidItem[];
}

/** Decodes one raw table item into an order, or says why it is not one. */
export function decodeOrderItem(item: Record<string, AttributeValue>): Order | InvalidItem {
  try {
    return orderFromImage(decodeItem(item as unknown as RawItem));
  } catch (error) {
    const orderId = item.orderId?.S;
    // A schema violation on one line, `path: message` per issue (zod's own message is multi-line JSON).
    const reason =
      error instanceof z.core.$ZodError
        ? error.issues.map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`).join('; ')
        : describeError(error).reason;
    return { orderId, reason };
  }
}

function isInvalid(decoded: Order | InvalidItem): decoded is InvalidItem {
  return 'reason' in decoded;
}

export interface ScanOrdersOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** TotalSegments; every segment is scanned at once. */
  readonly segments: number;
  /** @default SCAN_PAGE_SIZE */
  readonly pageSize?: number;
  /** Called for every page, in order within a segment; the segment's next page is read after it resolves. */
  readonly onPage: (page: ScannedPage) => Promise<void>;
}

/**
 * Scans the whole table with `segments` parallel segments. Each segment awaits `onPage` before reading on, so a slow
 * writer slows its own segment's reads (back-pressure) and at most `segments` pages are in flight.
 */
export async function scanOrders(options: ScanOrdersOptions): Promise<void> {
  const pageSize = options.pageSize ?? SCAN_PAGE_SIZE;
  // Once a segment fails the scan has failed: the others stop at their next page instead of scanning on unseen.
  let failed = false;
  const segment = async (index: number): Promise<void> => {
    const pages = paginateScan(
      { client: options.client, pageSize },
      {
        TableName: options.tableName,
        Segment: index,
        TotalSegments: options.segments,
        ConsistentRead: true,
        Limit: pageSize,
      },
    );
    for await (const page of pages) {
      if (failed) return;
      const decoded = (page.Items ?? []).map(decodeOrderItem);
      await options.onPage({
        segment: index,
        orders: decoded.filter((item): item is Order => !isInvalid(item)),
        invalid: decoded.filter(isInvalid),
      });
    }
  };
  await Promise.all(
    Array.from({ length: options.segments }, (_unused, index) =>
      segment(index).catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
}
