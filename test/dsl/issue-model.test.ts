// The issue model block of dsl/targets.ts: tensor cycles per m16n8k64 per sub-partition from the targets'
// rates (sass-inspection.md: 16 on the RTX 4090 and 3090, 8 on the A100), every pipe rate sourced.
import { describe, expect, it } from 'vitest';
import { ISSUE_MODELS, ISSUE_PIPES, resolveGpu, tensorCyclesPerMma } from '../../dsl/targets.js';

describe('issue model', () => {
  it('tensor cycles per m16n8k64 per sub-partition match the reference note', () => {
    expect(Math.round(tensorCyclesPerMma(resolveGpu('sm_89')).cycles)).toBe(16);
    expect(Math.round(tensorCyclesPerMma(resolveGpu('sm_86')).cycles)).toBe(16);
    expect(Math.round(tensorCyclesPerMma(resolveGpu('sm_80')).cycles)).toBe(8);
    expect(tensorCyclesPerMma(resolveGpu('sm_90')).rate).toBe('int8');
    expect(tensorCyclesPerMma(resolveGpu('sm_120a')).rate).toBe('fp4');
  });

  it('every pipe rate of every arch has a source string naming it', () => {
    for (const [arch, m] of Object.entries(ISSUE_MODELS)) {
      const text = m!.sources.join('\n');
      for (const p of ISSUE_PIPES) expect(text, `${arch} ${p}`).toMatch(new RegExp(`pipeRates\\.${p}\\b`));
      expect(text).toMatch(/subPartitions/);
      expect(text).toMatch(/assumed/);
    }
  });
});

