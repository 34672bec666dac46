// Safetensors headers from hostile input (seeded): parseHeader returns a header whose tensors have
// unique names and tile the data buffer exactly, or throws a UserError naming the file — nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHeader, repeatedTopLevelKey } from '../../codegen/safetensors.js';
import { UserError } from '../../dsl/errors.js';
import { runs } from './runs.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dtypes = ['F16', 'BF16', 'F32', 'F64', 'I8', 'U8', 'I32', 'BOOL', 'F4', 'f16', ''];
const entry = fc.oneof(
  fc.record(
    {
      dtype: fc.oneof(fc.constantFrom(...dtypes), fc.anything()),
      shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constant(2 ** 53), fc.double()), { maxLength: 3 }), fc.anything()),
      data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -2, max: 64 }), fc.integer({ min: -2, max: 64 })), fc.anything()),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const header = fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__metadata__', '__proto__', 'constructor')), entry, { maxKeys: 5 });

describe('safetensors header fuzz (seeded)', () => {
  it('random headers: a consistent header or a UserError naming the file', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 128 }), fc.boolean(), (h, dataBytes, duplicate) => {
        let text = JSON.stringify(h);
        const first = Object.keys(h).find((k) => k !== '__metadata__');
        if (duplicate && first !== undefined) text = text.replace(/^\{/, `{${JSON.stringify(first)}:${JSON.stringify(h[first])},`);
        let out: ReturnType<typeof parseHeader>;
        try {
          out = parseHeader(enc(text), dataBytes, 'f.safetensors');
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          expect((e as Error).message).toMatch(/^f\.safetensors: not a valid safetensors file: /);
          return;
        }
        expect(duplicate && first !== undefined).toBe(false); // a repeated name is never accepted
        const names = out.tensors.map((t) => t.name);
        expect(new Set(names).size).toBe(names.length);
        let cursor = 0;
        for (const t of out.tensors) {
          expect(t.begin).toBe(cursor);
          cursor = t.end;
        }
        expect(cursor).toBe(dataBytes);
      }),
      { numRuns: runs() },
    );
  });
  it('repeatedTopLevelKey finds repeats at the top level only, through escapes', () => {
    expect(repeatedTopLevelKey('{"a":1,"b":{"a":2}}')).toBeUndefined();
    expect(repeatedTopLevelKey('{"a\\"":1, "a\\"" :2}')).toBe('a"');
    expect(repeatedTopLevelKey('{"x":["y","y"],"\\u0078":0}')).toBe('x');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 }), (d) => {
        expect(repeatedTopLevelKey(JSON.stringify(d))).toBeUndefined();
      }),
      { numRuns: runs() },
    );
  });
});
