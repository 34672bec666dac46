// `verify` without --configs picks the target's own format: NVFP4 + MXFP4 on sm_120a, INT4 fp16 with
// register staging on sm_75, INT4 on sm_80/86/89; sm_90 and sm_100a stop with the reason. Every default
// config plans; the first two of sm_120a and sm_75 run on the emulator against the references.
import { describe, expect, it } from 'vitest';
import { planLayer } from '../../../codegen/plan/index.js';
import { withSlowInt4 } from '../../../dsl/compat.js';
import { resolveGpu } from '../../../dsl/targets.js';
import { defaultVerifyConfigs, verifyConfigs } from '../../../runtime/harness/verify.js';

describe('verify: default configs per target', () => {
  it('uses NVFP4 and MXFP4 on sm_120a/121a-class targets, every config plannable', () => {
    const t = resolveGpu('sm_120a');
    const cs = defaultVerifyConfigs(t);
    expect(new Set(cs.map((c) => c.spec.format.kind))).toEqual(new Set(['nvfp4', 'mxfp4']));
    expect(cs.slice(0, 2).map((c) => c.spec.format.kind)).toEqual(['nvfp4', 'mxfp4']);
    for (const c of cs) expect(planLayer(c.spec, c.tiles, t).gemm.uri).toMatch(/_sm120a_/);
    expect(cs.some((c) => c.spec.epilogue.some((e) => e.op === 'qnext'))).toBe(true);
  });

  it('uses INT4 fp16 with register staging on sm_75, every config plannable', () => {
    const t = resolveGpu('sm_75');
    const cs = defaultVerifyConfigs(t);
    for (const c of cs) {
      expect(c.spec.format).toMatchObject({ kind: 'int4', scaleDtype: 'fp16' });
      expect(c.spec.dtype).toBe('fp16');
      expect(c.tiles.gemm.staging).toBe('reg');
      expect(planLayer(c.spec, c.tiles, t).gemm.mma).toBe('Int4Turing');
    }
    expect(cs.some((c) => c.spec.lowRank.rank > 0)).toBe(true);
  });

  it('keeps INT4 with both dtypes on sm_89', () => {
    const cs = defaultVerifyConfigs(resolveGpu('sm_89'));
    expect(new Set(cs.map((c) => c.spec.format.kind))).toEqual(new Set(['int4']));
    expect(new Set(cs.map((c) => c.spec.dtype))).toEqual(new Set(['bf16', 'fp16']));
  });

  it('refuses sm_90 and sm_100a with the reason and the alternatives', () => {
    expect(() => defaultVerifyConfigs(resolveGpu('sm_90'))).toThrow(/no 4-bit tensor cores.*alternatives: sm_80\/86\/89 \(INT4\), sm_120a\/121a/);
    expect(() => defaultVerifyConfigs(resolveGpu('sm_100a'))).toThrow(/FP4 only through tcgen05\.mma.*alternatives/);
  });

  it('with allowSlowInt4, sm_90 gets the INT4 set, every GEMM plan labelled slowPath and _sm90_', () => {
    const t = withSlowInt4(resolveGpu('sm_90'));
    const cs = defaultVerifyConfigs(t);
    expect(cs.length).toBeGreaterThan(0);
    for (const c of cs) {
      const p = planLayer(c.spec, c.tiles, t).gemm;
      expect(p.slowPath).toBe(true);
      expect(p.uri).toMatch(/_sm90_/);
    }
  });

  for (const gpu of ['sm_120a', 'sm_75']) {
    it(`verify --gpu ${gpu} (no --configs): the first two default configs match the reference on the emulator`, async () => {
      const rows = await verifyConfigs({ gpu, backend: 'emu', limit: 2 });
      expect(rows.length).toBe(2);
      for (const r of rows) {
        expect(r.error, r.gemmUri).toBeUndefined();
        expect(r.passed, `${r.gemmUri}: ${JSON.stringify(r.checks.filter((c) => !c.passed))}`).toBe(true);
        expect(r.gemmUri).toContain(`_${gpu.replace('_', '')}_`);
      }
    }, 240_000);
  }
});
