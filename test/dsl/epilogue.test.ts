import { describe, expect, it } from 'vitest';
import { GELU_MIN, SILU_MIN, geluTanh, normalizeEpilogue, qnext, validateEpilogue } from '../../dsl/epilogue.js';
import { GELU_SHIFT, int4, nvfp4 } from '../../dsl/formats.js';
import { expectSpecError } from './expect-spec-error.js';

const ctx = { rank: 32, dtype: 'bf16' as const };
const q = (extra: object = {}) => ({ op: 'qnext', format: int4(), activation: { unsigned: false, shift: 0 }, lowRankDown: { rank: 0 }, keepOutput: false, ...extra });

describe('epilogue chain', () => {
  it('accepts the canonical order and string shorthands', () => {
    const chain = validateEpilogue(['bias', 'lowrank', 'gelu', q()], 'epilogue', ctx);
    expect(chain.map((e) => e.op)).toEqual(['bias', 'lowrank', 'gelu', 'qnext']);
    expect(validateEpilogue([{ op: 'lowrank' }, { op: 'silu' }], 'epilogue', ctx).map((e) => e.op)).toEqual(['lowrank', 'silu']);
    expect(validateEpilogue([], 'epilogue', { rank: 0, dtype: 'fp16' })).toEqual([]);
  });
  it('rejects out-of-order, repeated and exclusive steps', () => {
    expectSpecError(() => validateEpilogue(['lowrank', 'bias'], 'epilogue', ctx), 'epilogue[1].op', 'bias', 'cannot come after lowrank');
    expectSpecError(() => validateEpilogue(['bias', 'bias', 'lowrank'], 'epilogue', ctx), 'epilogue[1].op', 'bias', 'appears twice');
    expectSpecError(() => validateEpilogue(['lowrank', 'silu', 'gelu'], 'epilogue', ctx), 'epilogue[2].op', 'gelu', 'cannot follow silu');
    expectSpecError(() => validateEpilogue(['lowrank', q(), 'gelu'], 'epilogue', ctx), 'epilogue[2].op', 'gelu', 'bias → lowrank → (silu | gelu) → qnext');
    expectSpecError(() => validateEpilogue(['lowrank', 'relu'], 'epilogue', ctx), 'epilogue[1].op', 'relu', 'allowed: cscale, bias, lowrank, silu, gelu, qnext');
    // cscale (NVFP4 per-channel wcscales) scales the 4-bit product only: before bias
    expectSpecError(() => validateEpilogue(['bias', 'cscale', 'lowrank'], 'epilogue', ctx), 'epilogue[1].op', 'cscale', 'cannot come after bias');
    expect(validateEpilogue(['cscale', 'bias', 'lowrank'], 'epilogue', ctx).map((e) => e.op)).toEqual(['cscale', 'bias', 'lowrank']);
    expectSpecError(() => validateEpilogue('bias', 'epilogue', ctx), 'epilogue', 'bias', 'must be an array');
    expectSpecError(() => validateEpilogue([{ op: 'bias', scale: 2 }, 'lowrank'], 'epilogue', ctx), 'epilogue[0].scale', 2, 'allowed fields: op');
  });
  it('ties lowrank to the layer rank', () => {
    expectSpecError(() => validateEpilogue(['lowrank'], 'epilogue', { rank: 0, dtype: 'bf16' }), 'epilogue[0].op', 'lowrank', 'needs lowRank.rank > 0');
    expectSpecError(() => validateEpilogue(['bias'], 'epilogue', ctx), 'epilogue', ['bias'], "has no 'lowrank' step");
  });
  it('checks qnext: format, coding, low-rank down and keepOutput', () => {
    expectSpecError(() => validateEpilogue(['lowrank', q({ format: { kind: 'int4', group: 96, scaleDtype: 'bf16' } })], 'e', ctx), 'e[1].format.group', 96, 'allowed: 32, 64, 128');
    expectSpecError(() => validateEpilogue(['lowrank', q({ lowRankDown: { rank: 24 } })], 'e', ctx), 'e[1].lowRankDown.rank', 24, 'not a multiple of 16');
    expectSpecError(() => validateEpilogue(['lowrank', q({ keepOutput: 1 })], 'e', ctx), 'e[1].keepOutput', 1, 'true or false');
    expectSpecError(() => validateEpilogue(['lowrank', q({ format: nvfp4(), activation: { unsigned: true, shift: GELU_SHIFT } })], 'e', ctx), 'e[1].activation.unsigned', true, 'only allowed for int4');
    expectSpecError(() => validateEpilogue(['lowrank', q({ activation: { unsigned: true, shift: GELU_SHIFT } })], 'e', ctx), 'e[1].activation.unsigned', true, 'needs a gelu or silu step');
    expectSpecError(() => validateEpilogue(['lowrank', 'silu', q({ activation: { unsigned: true, shift: GELU_SHIFT } })], 'e', ctx), 'e[2].activation.shift', GELU_SHIFT, 'shift ≥ 0.278');
    expectSpecError(() => validateEpilogue(['lowrank', 'gelu', q({ activation: { unsigned: true, shift: 0.125 } })], 'e', ctx), 'e[2].activation.shift', 0.125, 'shift ≥ 0.170');
    expectSpecError(() => validateEpilogue(['lowrank', q({ after: 'x' })], 'e', ctx), 'e[1].after', 'x', 'allowed fields: op, format, activation, lowRankDown, keepOutput');
    const ok = validateEpilogue(['lowrank', 'gelu', q({ activation: { unsigned: true, shift: GELU_SHIFT }, lowRankDown: { rank: 32 } })], 'e', ctx);
    expect(ok[2]).toMatchObject({ op: 'qnext', activation: { unsigned: true, shift: GELU_SHIFT }, lowRankDown: { rank: 32 } });
  });
  it('GELU_SHIFT covers the most negative GELU output; SiLU needs more', () => {
    expect(GELU_MIN).toBeCloseTo(-0.170041, 5);
    expect(SILU_MIN).toBeCloseTo(-0.278465, 5);
    expect(GELU_SHIFT).toBeGreaterThan(-GELU_MIN);
    expect(geluTanh(-0.7522)).toBeCloseTo(GELU_MIN, 5);
  });
  it('normalizes builder input: qnext defaults follow Nunchaku (u4 + shift after GELU for int4)', () => {
    const [, , , n] = normalizeEpilogue(['bias', 'lowrank', 'gelu', qnext({ format: int4(), lowRankDown: 32 })]) as Array<Record<string, unknown>>;
    expect(n).toEqual({ op: 'qnext', format: int4(), activation: { unsigned: true, shift: GELU_SHIFT }, lowRankDown: { rank: 32 }, keepOutput: false });
    const [, s] = normalizeEpilogue(['lowrank', qnext({ format: int4() })]) as Array<Record<string, unknown>>;
    expect(s.activation).toEqual({ unsigned: false, shift: 0 });
    const [, f] = normalizeEpilogue(['gelu', qnext({ format: nvfp4() })]) as Array<Record<string, unknown>>;
    expect(f.activation).toEqual({ unsigned: false, shift: 0 });
    expectSpecError(() => normalizeEpilogue([qnext({ format: int4(), lowRankDown: 20 })]), 'epilogue[0].lowRankDown', 20, 'not a multiple of 16');
  });
});
