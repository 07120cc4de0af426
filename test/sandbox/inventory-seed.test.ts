import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INVENTORY,
  DEFAULT_STOCK_PER_SKU,
  InventoryOptionError,
  seedInventory,
  validateInventory,
} from '../../sandbox/inventory-seed.js';
import { TRAFFIC_SKUS } from '../../sandbox/traffic.js';
import { createTestTables, localDynamoDb, scanAll } from '../support/dynamodb.js';

describe('the initial inventory', () => {
  it('stocks every SKU of the demo traffic by default', () => {
    expect(Object.keys(DEFAULT_INVENTORY)).toEqual([...TRAFFIC_SKUS]);
    expect(TRAFFIC_SKUS[0]).toBe('SKU-0001');
    expect(TRAFFIC_SKUS).toHaveLength(40);
    expect(new Set(Object.values(DEFAULT_INVENTORY))).toEqual(new Set([DEFAULT_STOCK_PER_SKU]));
  });

  it.each([
    [{ '': 1 }, /not a SKU/],
    [{ '#reservation#o-1': 1 }, /not a SKU/],
    [{ 'SKU-1': -1 }, /inventory\.SKU-1 must be an integer >= 0, got -1/],
    [{ 'SKU-1': 1.5 }, /inventory\.SKU-1 must be an integer >= 0/],
  ])('refuses %j', (inventory, message) => {
    expect(() => validateInventory(inventory)).toThrow(InventoryOptionError);
    expect(() => validateInventory(inventory)).toThrow(message);
  });

  it('writes one stock item per SKU, more than one BatchWriteItem holds', async () => {
    // Prepare
    const tables = await createTestTables();
    const inventory = Object.fromEntries(Array.from({ length: 30 }, (_unused, i) => [`SKU-${i}`, i]));

    // Act
    await seedInventory(localDynamoDb().documentClient, tables.Inventory, inventory);

    // Assess
    const items = await scanAll(tables.Inventory);
    expect(Object.fromEntries(items.map((item) => [item.sku, item.available]))).toEqual(inventory);
    await tables.drop();
  });
});
