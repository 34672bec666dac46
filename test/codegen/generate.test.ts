import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCatalog, renderCatalog } from '../../codegen/generate.js';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { FLUX_DEV, specsFor } from '../../dsl/models/index.js';
import { resolveGpu } from '../../dsl/targets.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-gen-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('renderCatalog', () => {
  it('is deterministic and covers every arch with a manifest entry per kernel', () => {
    const a = renderCatalog();
    const b = renderCatalog();
    expect([...a.entries()]).toEqual([...b.entries()]);
    const manifest = JSON.parse(a.get('manifest.json')!);
    expect(manifest.archs).toEqual(['sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_120a', 'sm_121a']);
    expect(manifest.catalogs).toEqual(['flux.1-dev', 'qwen-image']);
    for (const k of manifest.kernels) {
      expect(a.has(k.file)).toBe(true);
      expect(a.get(k.file)).toContain(k.symbol);
      expect(k.file).toBe(`kernels/${k.arch}/${k.uri}.cu`);
    }
    // every FLUX layer is served by one act and one GEMM kernel per arch
    const served = manifest.kernels.flatMap((k: { layers: string[]; arch: string }) => k.layers.map((l) => `${k.arch}:${l}`));
    for (const arch of ['sm_80', 'sm_86', 'sm_89']) {
      for (const { layer } of specsFor(FLUX_DEV)) expect(served.filter((s: string) => s === `${arch}:flux.1-dev/${layer}`)).toHaveLength(2);
    }
  });

  it('default tiles exist for every catalog spec on the generated archs', () => {
    for (const arch of ['sm_80', 'sm_86', 'sm_89']) {
      for (const { spec } of specsFor(FLUX_DEV)) expect(() => defaultTiles(spec, resolveGpu(arch))).not.toThrow();
    }
  });
});

describe('generateCatalog', () => {
  it('writes, then --check finds it up to date', async () => {
    const out = path.join(dir, 'a');
    const first = await generateCatalog({ outDir: out });
    expect(first.changed.length).toBe(first.files.length);
    const again = await generateCatalog({ outDir: out, check: true });
    expect(again.upToDate).toBe(true);
  });

  it('--check lists edited, missing and stale files without touching them; a run repairs them', async () => {
    const out = path.join(dir, 'b');
    const { files } = await generateCatalog({ outDir: out });
    const edited = files.find((f) => f.endsWith('.cu'))!;
    writeFileSync(path.join(out, edited), '// hand edit\n');
    rmSync(path.join(out, 'manifest.json'));
    mkdirSync(path.join(out, 'kernels', 'sm_90'), { recursive: true });
    writeFileSync(path.join(out, 'kernels', 'sm_90', 'old.cu'), '// stale\n');
    mkdirSync(path.join(out, 'dispatch'), { recursive: true });
    writeFileSync(path.join(out, 'dispatch', 'tuner-owned.h'), '// tuner\n');

    const check = await generateCatalog({ outDir: out, check: true });
    expect(check.upToDate).toBe(false);
    expect(check.changed.sort()).toEqual([edited, 'manifest.json'].sort());
    expect(check.stale).toEqual(['kernels/sm_90/old.cu']);
    expect(readFileSync(path.join(out, edited), 'utf8')).toBe('// hand edit\n');

    const fix = await generateCatalog({ outDir: out });
    expect(fix.stale).toEqual(['kernels/sm_90/old.cu']);
    expect(existsSync(path.join(out, 'kernels', 'sm_90'))).toBe(false);
    expect(readFileSync(path.join(out, 'dispatch', 'tuner-owned.h'), 'utf8')).toBe('// tuner\n');
    expect((await generateCatalog({ outDir: out, check: true })).upToDate).toBe(true);
  });

  it("the repository's generated/ is up to date (run `svdq-codegen gen` after changing templates or planners)", async () => {
    const r = await generateCatalog({ check: true });
    expect({ changed: r.changed, stale: r.stale }).toEqual({ changed: [], stale: [] });
  });
});
