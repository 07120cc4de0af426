import { SAFE_ID_MAX_LENGTH, SAFE_ID_PATTERN } from '../shared/identifiers.js';
import { ORDER_LIMITS, ORDER_STATUSES } from '../shared/orders/order.js';
import * as z from '../shared/zod.js';

/**
 * Request schemas of the orders API. The Lambda validates with them, and the CDK app converts the body schemas with
 * `z.toJSONSchema(schema, { target: 'draft-4' })` into API Gateway request models, so they keep to what draft-4
 * expresses: strict objects, string lengths and patterns (no flags), integer bounds, enums, array bounds. Rules
 * draft-4 cannot express (unique SKUs) are checked in the domain code instead of with refinements, which the JSON
 * Schema conversion would silently drop.
 */

/** Largest accepted request body, in bytes after any base64 decoding; a larger one is answered with 413. */
export const MAX_BODY_BYTES = 16 * 1024;

/** Identifiers (customer, SKU, poll, voter, option): the shared rule of lambdas/shared/identifiers.ts. */
/** Order ids are UUID-shaped (random v4 ids, or hash-derived ids for idempotent creates); matched case-insensitively. */
export const ORDER_ID_PATTERN =
  /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Idempotency keys: UUIDs, ULIDs and base64 tokens fit; nothing that could confuse a log line or a header. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

/**
 * The WHATWG (HTML form) e-mail syntax with at least one dot in the domain. ASCII-only on purpose: the address is
 * handed to SES, and an internationalised address is a business decision, not something to accept by accident.
 */
const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

const safeId = z.string().check(z.minLength(1), z.maxLength(SAFE_ID_MAX_LENGTH), z.regex(SAFE_ID_PATTERN));

export const orderLineSchema = z.strictObject({
  sku: z.string().check(z.minLength(1), z.maxLength(64), z.regex(SAFE_ID_PATTERN)),
  qty: z.int().check(z.gte(1), z.lte(ORDER_LIMITS.maxQty)),
  unitPriceCents: z.int().check(z.gte(0), z.lte(ORDER_LIMITS.maxUnitPriceCents)),
});

/** `POST /orders`. Duplicate SKUs are rejected by the domain code (see `order.ts`), not here. */
export const createOrderBodySchema = z.strictObject({
  customerId: safeId,
  customerEmail: z.string().check(z.minLength(6), z.maxLength(254), z.regex(EMAIL_PATTERN)),
  lines: z.array(orderLineSchema).check(z.minLength(1), z.maxLength(ORDER_LIMITS.maxLines)),
  /** ISO 4217 alphabetic code; prices are in its minor unit. */
  currency: z.string().check(z.length(3), z.regex(/^[A-Z]{3}$/)),
});
export type CreateOrderBody = z.infer<typeof createOrderBodySchema>;

/** `PATCH /orders/{orderId}`. Any status is well-formed here; the transition table decides what is allowed. */
export const patchOrderBodySchema = z.strictObject({
  status: z.enum(ORDER_STATUSES),
});
export type PatchOrderBody = z.infer<typeof patchOrderBodySchema>;

/** `PUT /polls/{pollId}/votes/{voterId}`. */
export const putVoteBodySchema = z.strictObject({
  option: safeId,
});
export type PutVoteBody = z.infer<typeof putVoteBodySchema>;

/** Path parameters, validated like bodies so a hostile path never reaches a table. */
export const orderIdSchema = z.string().check(z.regex(ORDER_ID_PATTERN));
export const pollIdSchema = safeId;
export const voterIdSchema = safeId;
export const idempotencyKeySchema = z.string().check(z.regex(IDEMPOTENCY_KEY_PATTERN));

/** Longest `q` of `GET /orders/search`: a search box, not a document. */
export const SEARCH_QUERY_MAX_LENGTH = 200;
/** Longest `cursor`: the API's own cursors are about 100 characters. */
export const SEARCH_CURSOR_MAX_LENGTH = 512;
export const SEARCH_LIMIT_DEFAULT = 20;
export const SEARCH_LIMIT_MAX = 100;

/**
 * The query of `GET /orders/search`, after readQueryParameters (one string per name). Unknown parameters are refused
 * by name before this schema runs (refuseUnknownQueryParameters with SEARCH_QUERY_PARAMETERS), so the message can
 * list them all; the strict object is the second line of defence.
 * - `q`: trimmed; blank means no text filter (an empty search box). Control characters are refused: there is no
 *   reason to search for them, and they have no business in the logs of a failed search.
 * - `limit`: digits only (`Number` would take `1e1`, ` 5` and `0x10`), 1 to 100, default 20.
 * - `cursor`: base64url as the API issues it; whether it is one of ours is the search adapter's to decide.
 */
export const searchOrdersQuerySchema = z.strictObject({
  // zod/mini's functions nest where classic's methods chained: each pipe is read inside out, from the string's
  // checks to the last transform, and `z.optional` wraps what may be absent.
  q: z.optional(
    z.pipe(
      z.pipe(
        z
          .string()
          .check(
            z.maxLength(SEARCH_QUERY_MAX_LENGTH),
            z.regex(/^\P{Cc}*$/u, 'q must not contain control characters'),
          ),
        z.transform((value: string) => value.trim()),
      ),
      z.transform((value: string) => (value === '' ? undefined : value)),
    ),
  ),
  status: z.optional(z.enum(ORDER_STATUSES)),
  customerId: z.optional(safeId),
  limit: z.pipe(
    z.optional(
      z.pipe(
        z.pipe(
          z.string().check(z.regex(/^[0-9]{1,3}$/, 'limit must be a whole number')),
          z.transform(Number),
        ),
        z.int().check(z.gte(1), z.lte(SEARCH_LIMIT_MAX)),
      ),
    ),
    z.transform((value: number | undefined) => value ?? SEARCH_LIMIT_DEFAULT),
  ),
  cursor: z.optional(
    z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(SEARCH_CURSOR_MAX_LENGTH),
        z.regex(/^[A-Za-z0-9_-]+$/, 'cursor is not a cursor this API issued'),
      ),
  ),
});
export type SearchOrdersQuery = z.infer<typeof searchOrdersQuerySchema>;

/** The parameters `GET /orders/search` knows. */
export const SEARCH_QUERY_PARAMETERS: readonly string[] = Object.keys(searchOrdersQuerySchema.shape);
