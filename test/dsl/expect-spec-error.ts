// Shared assertion: a call throws a SpecError naming this field and value, with `allowed` in its text.
import { expect } from 'vitest';
import { SpecError } from '../../dsl/errors.js';

export function expectSpecError(fn: () => unknown, field: string, value: unknown, allowed: string | RegExp): SpecError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a SpecError for ${field}`).toBeInstanceOf(SpecError);
  const e = caught as SpecError;
  expect(e.field).toBe(field);
  expect(e.value).toEqual(value);
  if (typeof allowed === 'string') expect(e.message).toContain(allowed);
  else expect(e.message).toMatch(allowed);
  return e;
}
