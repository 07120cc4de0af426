import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TRAFFIC_SKUS } from './traffic.js';

/**
 * The Inventory table's stock at start: the default stock per SKU of the demo traffic, the check of a stock asked for
 * (before anything starts), and the writing of it to DynamoDB Local.
 */

/**
 * The stock of each SKU at start when nothing else is asked for. The demo traffic places about one order per four
 * operations, of about 2.5 lines of 1-3 (now and then 4-20) units, spread over its 40 SKUs: about 600 units per SKU
 * in a 10,000-operation run before cancellations and deletes give some back. At 450 such a run reserves most orders
 * and back-orders about one in six (a model of the traffic with an instant fan-out: 16%), as SKUs sell out towards
 * its end; at 300 it would be over a third, most of its second half.
 */
export const DEFAULT_STOCK_PER_SKU = 450;

/** Every SKU of the demo traffic at DEFAULT_STOCK_PER_SKU. */
export const DEFAULT_INVENTORY: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(TRAFFIC_SKUS.map((sku) => [sku, DEFAULT_STOCK_PER_SKU])),
);

/** Thrown when the initial stock cannot be written: a SKU or a stock that DynamoDB or the fan-out would refuse. */
export class InventoryOptionError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'InventoryOptionError';
  }
}

/** Throws InventoryOptionError for a SKU or a stock the Inventory table must not get. */
export function validateInventory(inventory: Readonly<Record<string, number>>): void {
  for (const [sku, available] of Object.entries(inventory)) {
    // A `#` prefix is the fan-out's reservation items' (`#reservation#<orderId>`); a SKU must never look like one.
    if (sku === '' || sku.startsWith('#')) {
      throw new InventoryOptionError(`inventory: "${sku}" is not a SKU (empty or starting with '#')`);
    }
    if (!Number.isSafeInteger(available) || available < 0) {
      throw new InventoryOptionError(`inventory.${sku} must be an integer >= 0, got ${available}`);
    }
  }
}

/** Writes `{ sku, available }` per SKU (BatchWriteItem, 25 per call, unprocessed items written again). */
export async function seedInventory(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  inventory: Readonly<Record<string, number>>,
): Promise<void> {
  validateInventory(inventory);
  const items = Object.entries(inventory).map(([sku, available]) => ({
    PutRequest: { Item: { sku, available } },
  }));
  for (let start = 0; start < items.length; start += 25) {
    let pending: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']> = {
      [tableName]: items.slice(start, start + 25),
    };
    for (let attempt = 1; Object.keys(pending).length > 0; attempt += 1) {
      const { UnprocessedItems } = await documentClient.send(
        new BatchWriteCommand({ RequestItems: pending }),
      );
      pending = Object.fromEntries(
        Object.entries(UnprocessedItems ?? {}).filter(([, requests]) => (requests?.length ?? 0) > 0),
      );
      if (attempt >= 10 && Object.keys(pending).length > 0) {
        throw new Error(`Seeding ${tableName}: items stayed unprocessed after ${attempt} attempts`);
      }
    }
  }
}
