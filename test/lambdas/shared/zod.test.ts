import { describe, expect, it } from 'vitest';
import * as z from '../../../lambdas/shared/zod.js';

describe('the zod of the functions', () => {
  it('answers in English, as the orders API tells a client what is wrong with a field', () => {
    // Act
    const result = z.object({ customerId: z.string().check(z.minLength(1)) }).safeParse({ customerId: '' });

    // Assess
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        path: ['customerId'],
        message: 'Too small: expected string to have >=1 characters',
      }),
    ]);
  });

  it('lists the options of an enum that a value is not one of', () => {
    // Act
    const result = z.object({ status: z.enum(['PAID', 'SHIPPED']) }).safeParse({ status: 'LOST' });

    // Assess
    expect(result.error?.issues[0]?.message).toBe('Invalid option: expected one of "PAID"|"SHIPPED"');
  });

  it('parses an input that refers to itself with a recursive schema, as classic zod does', () => {
    // Prepare
    interface Field {
      readonly fields?: Readonly<Record<string, Field>>;
    }
    const field: z.ZodMiniType<Field> = z.lazy(() =>
      z.looseObject({ fields: z.optional(z.record(z.string(), field)) }),
    );
    const cyclic: { fields: Record<string, unknown> } = { fields: {} };
    cyclic.fields.self = cyclic;

    // Act
    const result = field.safeParse(cyclic);

    // Assess
    expect(result.success).toBe(true);
  });
});
