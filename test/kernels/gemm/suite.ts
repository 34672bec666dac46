// One emulator check per (config, shape), shared by the GEMM test files (INT4, Turing INT4, FP4): build
// once per file (buildGemmSuite), then for every shape run twice and gate on the memory checker,
// determinism, the tolerance of case.ts `compare`, the traffic model and the MMA instruction count.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { gemmTraffic } from '../../../codegen/plan/gemm.js';
import type { GemmTile, KernelSpec } from '../../../dsl/types.js';
import { WORK_DIR, checkerFindings, compare, makeCase, planFor, runBundle, sameBytes, writeBundle, type GemmCase } from './case.js';

export interface SuiteConfig {
  name: string;
  spec: KernelSpec;
  tile: GemmTile;
  shapes: Omit<GemmCase, 'seed'>[];
}

export interface CaseError {
  uri: string;
  shape: string;
  worstToleranceRatio: number;
  relErrVsFloat64: number;
  referenceRelErrVsFloat64: number;
}

/** Runs every shape of `cfg` on the suite binary `bin` (built for `arch`) and asserts every gate. */
export async function checkConfig(bin: string, cfg: SuiteConfig, seedBase: number, arch: string, caseDir: string): Promise<CaseError[]> {
  const plan = planFor(cfg.spec, cfg.tile, arch);
  const rows: CaseError[] = [];
  for (const [si, shape] of cfg.shapes.entries()) {
    const c: GemmCase = { ...shape, seed: seedBase + si };
    const d = makeCase(cfg.spec, cfg.tile, c);
    const dir = path.join(WORK_DIR, caseDir, `${seedBase}-${si}`);
    rmSync(dir, { recursive: true, force: true });
    writeBundle(dir, cfg.spec, plan, c, d);
    const a = await runBundle(bin, plan, dir, path.join(dir, 'run1'));
    const b = await runBundle(bin, plan, dir, path.join(dir, 'run2'));
    const label = `${plan.uri} M=${c.M} N=${c.N} K=${c.K}`;
    expect(checkerFindings(a), label).toEqual([]);
    expect(a.files.size, label).toBeGreaterThan(0);
    expect(sameBytes(a, b), `${label}: two runs differ`).toBe(true);
    const cmp = compare(cfg.spec, plan, c, d, a);
    expect(cmp.failures, label).toEqual([]);
    const traffic = gemmTraffic(plan, { m: c.M, n: c.N, k: c.K, slices: c.slices });
    const counters = a.reports[0]!.counters;
    expect(counters.global.load.bytes, `${label}: global bytes loaded`).toBe(traffic.globalBytesLoaded);
    expect(counters.global.store.bytes, `${label}: global bytes stored`).toBe(traffic.globalBytesStored);
    expect(counters.shared.load.bankConflicts ?? 0, `${label}: shared-memory load bank conflicts`).toBe(0);
    expect(counters.shared.store.bankConflicts ?? 0, `${label}: shared-memory store bank conflicts`).toBe(0);
    expect(counters.instructions[traffic.mmaInstruction] ?? 0, `${label}: ${traffic.mmaInstruction}`).toBe(32 * traffic.mmaInstructions);
    rows.push({ uri: plan.uri, shape: `M=${c.M} N=${c.N} K=${c.K}`, worstToleranceRatio: cmp.yWorstRatio, relErrVsFloat64: cmp.yRelErr64, referenceRelErrVsFloat64: cmp.yRelErrRef64 });
  }
  return rows;
}
