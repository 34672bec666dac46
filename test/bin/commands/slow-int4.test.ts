// sm_90 and sm_100a: every path refuses with the reason and the alternatives; `--allow-slow-int4` builds
// the INT4 m16n8k64 path for sm_90 anyway, labelled (plan `slowPath: true`, a warning line, name), with
// the URI still `…_sm90_…`, and it compiles with nvcc for sm_90 with 0 spills. sm_100a FP4 stays refused.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../bin/cli.js';
import { defaultTiles } from '../../../codegen/default-tiles.js';
import { compileCuda } from '../../../codegen/nvcc.js';
import { planGemm } from '../../../codegen/plan/gemm.js';
import { renderKernel } from '../../../codegen/render.js';
import { checkSpecOnTarget, isSlowInt4Target, withSlowInt4 } from '../../../dsl/compat.js';
import { layer } from '../../../dsl/spec.js';
import { resolveGpu } from '../../../dsl/targets.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-slow-int4-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI's `main` in-process, capturing what it writes. */
async function cli(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const exitCode = await main(['node', 'svdq-codegen', ...args]);
    return { exitCode, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

const spec = layer({ dtype: 'bf16', lowRank: 32, epilogue: ['bias', 'lowrank'] });
const hopper = resolveGpu('sm_90');
const b200 = resolveGpu('sm_100a');

describe('sm_90 / sm_100a refusals', () => {
  it('the planner and the spec check say why and name the alternatives', () => {
    const tile = defaultTiles(spec, resolveGpu('sm_89')).gemm;
    expect(() => planGemm(spec, tile, hopper)).toThrow(/h100 \(sm_90\) has no 4-bit tensor cores.*alternatives: sm_80\/86\/89 \(INT4\), sm_120a\/121a \(NVFP4, MXFP4\)/);
    expect(() => planGemm(layer({ format: 'nvfp4' }), tile, b200)).toThrow(/reaches FP4 only through tcgen05\.mma, not mma\.sync.*alternatives: sm_120a\/121a/);
    expect(() => checkSpecOnTarget(spec, hopper)).toThrow(/no 4-bit tensor cores/);
  });

  it('verify and tune on sm_90 / sm_100a stop with the reason (exit 2, a user error)', async () => {
    const v = await cli('verify', '--gpu', 'sm_90');
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toMatch(/no 4-bit tensor cores.*alternatives.*--allow-slow-int4/s);
    const t = await cli('tune', '--gpu', 'sm_100a', '--mode', 'model', '--shapes', '128x3072x3072', '--db', path.join(dir, 'b.json'), '--no-report');
    expect(t.exitCode).toBe(2);
    expect(t.stderr).toMatch(/tcgen05/);
  });

  it('--allow-slow-int4 does not unlock sm_100a (no mma.sync 4-bit there)', async () => {
    expect(() => withSlowInt4(b200)).toThrow(/only forces INT4 on sm_90.*tcgen05/);
    const v = await cli('verify', '--gpu', 'sm_100a', '--allow-slow-int4');
    expect(v.exitCode).toBe(2);
    expect(v.stderr).toMatch(/--allow-slow-int4: "sm_100a" only forces INT4 on sm_90/);
  });
});

describe('--allow-slow-int4 on sm_90', () => {
  const slow = withSlowInt4(hopper);

  it('labels the target and the plan; the URI stays _sm90_; native targets are untouched', () => {
    expect(isSlowInt4Target(slow)).toBe(true);
    expect(slow.name).toMatch(/slow path/);
    expect(withSlowInt4(resolveGpu('sm_89'))).toBe(resolveGpu('sm_89'));
    const plan = planGemm(spec, defaultTiles(spec, slow).gemm, slow);
    expect(plan.slowPath).toBe(true);
    expect(plan.mma).toBe('Int4');
    expect(plan.uri).toMatch(/_sm90_/);
    const native = planGemm(spec, defaultTiles(spec, resolveGpu('sm_89')).gemm, resolveGpu('sm_89'));
    expect(native.slowPath).toBeUndefined();
  });

  it('the INT4 GEMM compiles with nvcc for sm_90 with 0 spills', async () => {
    const plan = planGemm(spec, defaultTiles(spec, slow).gemm, slow);
    const result = await compileCuda({ source: renderKernel(plan), arch: 'sm_90', kind: 'cubin' });
    const entries = result.ptxas.filter((r) => r.entry && r.kernel.includes(plan.kernelName));
    expect(entries.map((e) => e.arch)).toEqual(['sm_90']);
    for (const e of entries) expect(e.spillStoreBytes + e.spillLoadBytes, plan.uri).toBe(0);
  }, 120_000);

  it('tune --allow-slow-int4 (model mode) prints the warning and tunes an _sm90_ config', async () => {
    const db = path.join(dir, 'h.json');
    const r = await cli('tune', '--gpu', 'sm_90', '--allow-slow-int4', '--mode', 'model', '--shapes', '128x3072x3072', '--db', db, '--no-report', '--dispatch', path.join(dir, 'h.h'), '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: h100 \(sm_90\) runs INT4 through the --allow-slow-int4 override — Hopper has no 4-bit tensor-core fast path/);
    expect(r.stdout).toMatch(/_sm90_/);
  }, 120_000);
});
