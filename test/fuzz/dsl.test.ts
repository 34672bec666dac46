// DSL specs from hostile input: any value (BigInt, Symbol, null-prototype objects, cycles, empty keys,
// null) given to layer() / validateSpec() either yields a spec that re-validates to itself or throws a
// SpecError whose field is non-empty — never another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../dsl/errors.js';
import { layer, layers, validateSpec } from '../../dsl/spec.js';
import { RANK_STEP, MAX_RANK } from '../../dsl/lowrank.js';
import { EPILOGUE_NAMES } from '../../dsl/epilogue.js';
import { runs } from './runs.js';

const weird = fc.oneof(
  fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withObjectString: true }),
  fc.string().map((s) => Symbol(s)),
  fc.constantFrom(null, undefined, NaN, Infinity, -0, 2 ** 53 + 2, '', [], {}, () => 1),
);
const near = {
  label: fc.oneof(fc.string(), weird),
  format: fc.oneof(fc.constantFrom('int4', 'nvfp4', 'mxfp4', 'int5'), fc.record({ kind: fc.constantFrom('int4', 'nvfp4', 'mxfp4'), group: fc.oneof(fc.constantFrom(16, 32, 64, 128), weird), scaleDtype: fc.oneof(fc.constantFrom('fp16', 'bf16', 'ue4m3', 'ue8m0'), weird) }, { requiredKeys: [] }), weird),
  activation: fc.oneof(fc.constantFrom('signed', 'unsigned'), fc.record({ unsigned: fc.oneof(fc.boolean(), weird), shift: fc.oneof(fc.double(), weird) }, { requiredKeys: [] }), weird),
  dtype: fc.oneof(fc.constantFrom('fp16', 'bf16', 'fp32'), weird),
  lowRank: fc.oneof(fc.integer({ min: -32, max: 1100 }), fc.record({ rank: fc.oneof(fc.integer({ min: -32, max: 1100 }), weird) }), weird),
  epilogue: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...EPILOGUE_NAMES, 'lora', ''), fc.record({ op: fc.oneof(fc.constantFrom(...EPILOGUE_NAMES), weird) }), weird), { maxLength: 6 }), weird),
};
const input = fc.oneof(
  fc.record(near, { requiredKeys: [] }),
  fc.record(near, { requiredKeys: [] }).chain((r) => fc.tuple(fc.constant(r), fc.string({ maxLength: 3 }), weird).map(([o, k, v]) => ({ ...o, [k]: v }))),
  weird,
);

function check(build: () => unknown): void {
  let out: unknown;
  try {
    out = build();
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(SpecError);
    const s = e as SpecError;
    expect(s.field).not.toBe('');
    const head = s.message.slice(0, s.message.indexOf(': '));
    expect(head, s.message).not.toBe('');
    expect(head.endsWith('.'), s.message).toBe(false);
    return;
  }
  // Accepted: the documented rules hold and the spec is a fixed point of the validator.
  const specs = Array.isArray(out) ? out : [out];
  for (const spec of specs) {
    const again = validateSpec(JSON.parse(JSON.stringify(spec)));
    expect(again).toEqual(spec);
    expect(again.lowRank.rank % RANK_STEP).toBe(0);
    expect(again.lowRank.rank).toBeLessThanOrEqual(MAX_RANK);
  }
}

describe('DSL fuzz (seeded)', () => {
  it('layer() on arbitrary input: a valid spec or a SpecError naming a field', () => {
    fc.assert(fc.property(input, (v) => check(() => layer(v as never))), { numRuns: runs() });
  });
  it('validateSpec() on arbitrary input: a valid spec or a SpecError naming a field', () => {
    fc.assert(fc.property(input, (v) => check(() => validateSpec(v))), { numRuns: runs() });
  });
  it('layers() on arbitrary objects of layers', () => {
    fc.assert(fc.property(fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), input, { maxKeys: 3 }), weird), (v) => check(() => layers(v as never))), { numRuns: runs() });
  });
});
