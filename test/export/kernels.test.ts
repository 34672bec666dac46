// Kernel selection, the rendered kernel table and the public header, without compiling kernels.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { selectKernels } from '../../export/kernels.js';
import { epilogueFlags, renderHeader, renderKernelTable, smOf } from '../../export/sources.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { planLayer } from '../../codegen/plan/index.js';
import { resolveGpu } from '../../dsl/targets.js';
import { resolveModel } from '../../dsl/models/index.js';
import { catalogSpecs } from '../../codegen/generate.js';
import type { KernelSpec } from '../../dsl/types.js';
import { familyOfGemmUri, type TuneRecord } from '../../tuner/records.js';
import { SMALL_TILE, SPEC } from './helpers.js';

const sm89 = resolveGpu('sm_89');
const sm80 = resolveGpu('sm_80');
const QNEXT: KernelSpec = {
  ...SPEC,
  epilogue: [{ op: 'bias' }, { op: 'gelu' }, { op: 'qnext', format: SPEC.format, activation: { unsigned: true, shift: 0.171875 }, lowRankDown: { rank: 0 }, keepOutput: false }],
};

function rec(n: number, k: number, hi: number, timeUs: number): TuneRecord {
  const plan = planLayer(SPEC, { gemm: SMALL_TILE, act: defaultTiles(SPEC, sm89).act }, sm89);
  return {
    family: familyOfGemmUri(plan.gemm.uri),
    shape: { m: hi, n, k },
    bucket: { lo: 0, hi },
    target: { id: sm89.id, arch: sm89.arch, name: sm89.name },
    gemmUri: plan.gemm.uri,
    actUri: null, // a qnext-fed layer: the export still quantizes X itself with the default act tile
    timing: { label: 'measured', timeUs },
  } as unknown as TuneRecord;
}

describe('selectKernels', () => {
  it('takes each spec’s default tiles per target, extra tiles, and the records’ kernels; skips qnext', () => {
    const sel = selectKernels({ specs: [SPEC, SPEC, QNEXT], targets: [sm89, sm80], extraTiles: [SMALL_TILE], records: [rec(64, 128, 32, 2), rec(64, 128, 256, 9)] });
    expect(sel.kernels.map((k) => `${k.gemm.arch} ${k.isDefault}`)).toEqual(['sm_89 true', 'sm_89 false', 'sm_80 true', 'sm_80 false']);
    expect(sel.skipped.map((s) => s.why)).toEqual([expect.stringContaining('qnext'), expect.stringContaining('qnext')]);
    // both records chose the (already present) small sm_89 kernel: no new kernel, two rows tiling M
    expect(sel.dispatch.map((d) => [d.kernel, d.n, d.k, d.mLo, d.mHi, d.provenance])).toEqual([
      [1, 64, 128, 0, 32, 'measured 2.00 us'],
      [1, 64, 128, 32, 0, 'measured 9.00 us'],
    ]);
    expect(sel.kernels[1].act.uri).toBe(sel.kernels[0].act.uri);
  });

  it('plans the built-in catalogs per target in its native format: FP4 on sm_120a/121a, INT4 on sm_89 (qnext chains skipped)', () => {
    for (const model of ['flux.1-dev', 'qwen-image']) {
      const c = resolveModel(model);
      const sel = selectKernels({ specs: (t) => catalogSpecs(c, t.arch), targets: [sm89, resolveGpu('sm_120a'), resolveGpu('sm_121a')] });
      const byArch = (a: string) => sel.kernels.filter((k) => k.gemm.arch === a).map((k) => k.spec.format.kind);
      expect(new Set(byArch('sm_89'))).toEqual(new Set(['int4']));
      expect(byArch('sm_120a').sort()).toEqual(['mxfp4', 'nvfp4']);
      expect(byArch('sm_121a').sort()).toEqual(['mxfp4', 'nvfp4']);
      expect(sel.kernels.find((k) => k.gemm.arch === 'sm_121a')!.target.id).toBe('gb10');
      expect(sel.skipped.every((s) => s.why.includes('qnext'))).toBe(true);
    }
  });

  it('names only the clauses of what was asked: a bf16 layer on sm_75 says bf16, not cp.async staging', () => {
    const t4 = resolveGpu('sm_75');
    const msg = (() => {
      try {
        selectKernels({ specs: [SPEC], targets: [t4] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).toMatch(/spec\.dtype: 'bf16' needs bf16 tensor cores \(sm_80\+\); allowed on sm_75: 'fp16'/);
    expect(msg).not.toMatch(/tile\.|cp\.async/);
    // an FP4 spec on an INT4 GPU: the format clause alone, no tile clause of the qnext candidates
    expect(() => defaultTiles({ ...QNEXT, format: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' }, activation: { unsigned: false, shift: 0 }, epilogue: [{ op: 'bias' }] }, sm89)).toThrow(
      /^no default GEMM tile for this layer on rtx4090 \(sm_89\): spec\.format\.kind: 'nvfp4' has no 4-bit MMA on rtx4090 \(sm_89\) \(mma4bit: \[int4\.m16n8k64\]\); allowed there: int4$/,
    );
  });

  it('refuses to build nothing', () => {
    expect(() => selectKernels({ specs: [QNEXT], targets: [sm89] })).toThrow(/no kernel to export.*qnext/);
  });
});

describe('renderKernelTable', () => {
  it('writes one row per kernel with its family facts, and re-indexes dispatch rows into a subset', () => {
    const sel = selectKernels({ specs: [SPEC], targets: [sm80, sm89], extraTiles: [SMALL_TILE], records: [rec(64, 128, 32, 2)] });
    const onlySm89 = renderKernelTable(sel, (k) => k.target.id === sm89.id, 'emu');
    const rows = onlySm89.split('\n').filter((l) => l.trim().startsWith('{"w4a4_'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain(`&${sel.kernels[2].gemm.symbol}, 89, 0, 0, 64, 1, 1, 0, 0.00000000f, 3u, 32, 1, 128 }`);
    // the sm_89 small kernel is index 3 of the selection and index 1 of the subset
    expect(onlySm89).toMatch(/\{ 1, 64, 128, 0, 0, "measured 2\.00 us"\}/);
    expect(onlySm89).toContain('"flavour\\":\\"emu\\"');
    expect(renderKernelTable(sel, () => true, 'cuda').split('\n').filter((l) => l.trim().startsWith('{"w4a4_'))).toHaveLength(4);
    expect(smOf('sm_120a')).toEqual({ sm: 120, exact: 1 });
    expect(epilogueFlags([{ op: 'bias' }, { op: 'lowrank' }, { op: 'gelu' }])).toBe(11);
  });

  it('svdq.h compiles as C99 and as C++ on its own', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-header-'));
    try {
      for (const f of renderHeader()) {
        await fs.mkdir(path.dirname(path.join(dir, f.path)), { recursive: true });
        await fs.writeFile(path.join(dir, f.path), f.text);
      }
      await fs.writeFile(path.join(dir, 'use.c'), '#include "svdq.h"\nint main(void) { svdq_layer_desc_t d = {0}; return d.N + SVDQ_ERR_INTERNAL + SVDQ_ABI_VERSION; }\n');
      await execa('gcc', ['-std=c99', '-Wall', '-Werror', '-pedantic', `-I${path.join(dir, 'include')}`, '-fsyntax-only', path.join(dir, 'use.c')]);
      await execa('g++', ['-std=c++17', '-Wall', '-Werror', `-I${path.join(dir, 'include')}`, '-fsyntax-only', '-x', 'c++', path.join(dir, 'use.c')]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('svdq-codegen build (CLI)', () => {
  it('renders the package for a catalog (sources, header, CMake, torch, manifest) and names what it skipped', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-build-cli-'));
    try {
      const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bin', 'svdq-codegen.js');
      const out = path.join(dir, 'dist');
      // A named --db must exist (a missing one is refused, test/bin/hardening.test.ts): an empty database.
      await fs.writeFile(path.join(dir, 'none.json'), JSON.stringify({ schema: 'svdq-codegen/tune-db', version: 1, records: [] }));
      const r = await execa('node', [bin, 'build', '--gpu', 'sm_89', '--out', out, '--model', 'flux.1-dev', '--db', path.join(dir, 'none.json'), '--no-cuda', '--no-emu'], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/kernel\(s\) for sm_89, 0 tuned dispatch row\(s\), \d+ skipped/);
      const m = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
      expect(m.kernels.length).toBeGreaterThan(0);
      expect(m.kernels.every((k: { default: boolean; arch: string }) => k.default && k.arch === 'sm_89')).toBe(true);
      expect(m.tuning.provenance).toBe('none (default tiles only)');
      for (const f of ['include/svdq.h', 'src/svdq_layer.cpp', 'src/svdq_kernels.h', 'cmake/svdqConfig.cmake', 'torch/svdq/__init__.py']) await fs.access(path.join(out, f));
      // sm_120a: the catalog in NVFP4 and MXFP4 (used to fail with "no default GEMM tile")
      const fp4 = await execa('node', [bin, 'build', '--gpu', 'sm_89,sm_120a', '--out', out, '--db', path.join(dir, 'none.json'), '--no-cuda', '--no-emu'], { reject: false });
      expect(fp4.exitCode, fp4.stderr).toBe(0);
      const m2 = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
      const fp4Uris = m2.kernels.filter((k: { arch: string }) => k.arch === 'sm_120a').map((k: { gemm?: string; uri?: string }) => JSON.stringify(k));
      expect(fp4Uris.some((u: string) => u.includes('w4a4_nvfp4g16_bf16_r32_'))).toBe(true);
      expect(fp4Uris.some((u: string) => u.includes('w4a4_mxfp4g32_bf16_r32_'))).toBe(true);
      const bad = await execa('node', [bin, 'build', '--gpu', 'sm_999', '--out', out], { reject: false });
      expect(bad.exitCode).toBe(2);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
