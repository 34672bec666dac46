import { describe, expect, it } from 'vitest';
import { MORE_INSTR_MARGIN, TIE_FRACTION, chooseGemm, layerKind, modelTotals } from '../../tuner/choose.js';
import type { TuneRecord } from '../../tuner/records.js';

const c = (uri: string, timeUs: number, perMma?: number) => ({ uri, timeUs, perMma, bound: 'compute' as const });

describe('choosing among compiled candidates', () => {
  it('breaks ties (within TIE_FRACTION) by fewer main-loop instructions, then URI', () => {
    const a = c('a', 100, 30);
    const b = c('b', 100 * (1 + TIE_FRACTION / 2), 20);
    expect(chooseGemm([a, b], 'b').chosen.uri).toBe('b');
    expect(chooseGemm([c('z', 100, 20), c('y', 100, 20)], 'z').chosen.uri).toBe('y');
    // Outside the tie band the faster one wins.
    expect(chooseGemm([c('a', 90, 20), c('b', 100, 20)], 'b').chosen.uri).toBe('a');
  });

  it('never takes more instr/MMA than the default without a predicted margin, and records why', () => {
    const def = c('default', 100, 25);
    const close = c('fat', 100 * (1 - MORE_INSTR_MARGIN / 2), 35);
    expect(chooseGemm([def, close], 'default')).toEqual({ chosen: def });
    const far = c('fat', 80, 35);
    const choice = chooseGemm([def, far], 'default');
    expect(choice.chosen.uri).toBe('fat');
    expect(choice.why).toMatch(/35\.0 instr\/MMA > default 25\.0, but predicted 80\.0 µs vs 100\.0 µs \(20 % faster/);
  });

  it('falls back to the plain ranking when counts are missing (static estimates)', () => {
    expect(chooseGemm([c('a', 90), c('b', 100)], 'b').chosen.uri).toBe('a');
  });
});

describe('model totals', () => {
  const rec = (layer: string, us: number, baseUs: number, count: number) =>
    ({ layers: [layer], predictedTimeUs: us, countPerForward: count, baseline: { label: 'predicted', gemmUri: 'x', timeUs: baseUs, paddedM: 256, mainLoop: null } }) as unknown as TuneRecord;

  it('sums layer × calls per forward for the choice and the baseline, per layer kind', () => {
    const t = modelTotals([rec('double.img.qkv', 10, 20, 19), rec('single.qkv', 5, 5, 38), rec('double.img.mlp_fc2', 2, 3, 19)])!;
    expect(t.modelTotalUs).toBe(10 * 19 + 5 * 38 + 2 * 19);
    expect(t.modelTotalBaselineUs).toBe(20 * 19 + 5 * 38 + 3 * 19);
    expect(t.vsBaseline).toBeCloseTo(t.modelTotalBaselineUs / t.modelTotalUs, 12);
    expect(t.byKind).toEqual([
      { kind: 'mlp_fc2', us: 38, baselineUs: 57 },
      { kind: 'qkv', us: 380, baselineUs: 570 },
    ]);
  });

  it('is null when a record predates the fields', () => {
    expect(modelTotals([{ layers: ['a'] } as unknown as TuneRecord])).toBeNull();
    expect(layerKind('double.txt.attn_out')).toBe('attn_out');
  });
});
