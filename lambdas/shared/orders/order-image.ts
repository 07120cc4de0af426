import type { DecodedItem } from '../stream/lossless.js';
import { safeIntegerAttribute } from '../stream/lossless.js';
import * as z from '../zod.js';
import { type Order, parseOrderItem } from './order.js';

/**
 * The numbers of an Orders item as a stream image carries them (NumberValues, docs/architecture.md, contract 5), each checked to
 * be a safe integer before anything reads it as a JS number. Other attributes pass through to parseOrderItem.
 */
const orderImageNumbers = z.looseObject({
  version: safeIntegerAttribute,
  totalCents: safeIntegerAttribute,
  lines: z.array(
    z.looseObject({
      qty: safeIntegerAttribute,
      unitPriceCents: safeIntegerAttribute,
    }),
  ),
});

/**
 * The Order of a decoded stream image. Throws a ZodError (a permanent failure of the record) when the image is not an
 * order this code understands: a number that is not a safe integer, a missing attribute, an unknown status.
 */
export function orderFromImage(image: DecodedItem): Order {
  return parseOrderItem(orderImageNumbers.parse(image));
}
