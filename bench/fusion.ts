// What fusing the low-rank branch saves in global-memory traffic, measured on the emulator for
// FLUX.1-dev's W4A4 layer shapes (N, K from the catalog; M scaled down so it runs in a minute or two).
// Per shape: (a) the fused layer (activation kernel + GEMM with bias + lowrank), (b) the rank-0 layer
// plus the two separate 16-bit kernels of runtime/include/svdq/unfused, (c) the rank-0 layer alone.
// Every byte is a per-launch emulator counter (runtime/harness/unfused/fusion.ts); the only derived
// numbers are labelled: the linear extrapolation to the real M (checked by measuring at M and M/2)
// and the cost model's prediction for the unfused kernels (tuner/predict.ts), shown for comparison.
//   npx tsx bench/index.ts fusion          → table on stdout, JSON in .cache/bench/fusion.json
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel, shapesFor } from '../dsl/models/index.js';
import { resolveGpu, supportsBf16 } from '../dsl/targets.js';
import type { Dtype16 } from '../dsl/types.js';
import { buildFusion, measureFusion, type FusionMeasurement } from '../runtime/harness/unfused/fusion.js';
import { predictLayer } from '../tuner/predict.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface FusionBenchOptions {
  /** Rows per layer run on the emulator (default 256; a multiple of 128 keeps traffic exactly linear). */
  m?: number;
  rank?: number;
  gpu?: string;
  model?: string;
  /** JSON output path (default .cache/bench/fusion.json). */
  out?: string;
}

export interface FusionBenchRow {
  /** Catalog layers with this (N, K), their real M and runs per forward. */
  layers: { name: string; m: number; count: number }[];
  measured: FusionMeasurement;
  /** The same shape at M/2: bytes(M) / bytes(M/2) per variant (2 = linear in M). */
  linearity: { fused: number; unfused: number; rank0: number };
  /** Σ over the layers of (bytes at M) · realM / M · count: per forward pass, linear extrapolation. */
  perForward: { fused: number; unfused: number; rank0: number; saved: number; label: 'linear extrapolation from measured counters' };
  /** tuner/predict.ts's byte formulas for the two unfused kernels at the same M (labelled predicted). */
  costModel: { label: 'predicted'; loraDown: number; loraUp: number; measuredLoraDown: number; measuredLoraUp: number };
}

export interface FusionBenchResult {
  model: string;
  target: string;
  dtype: Dtype16;
  m: number;
  rank: number;
  rows: FusionBenchRow[];
  markdown: string;
}

const MB = (b: number): string => (b / 1e6).toFixed(2);
const GB = (b: number): string => (b / 1e9).toFixed(1);

function markdownTable(r: Omit<FusionBenchResult, 'markdown'>): string {
  const lines = [
    `| N × K (layers) | fused: act + GEMM | rank 0 + lora_down + lora_up | rank 0 alone | low-rank cost fused | low-rank cost unfused | unfused / fused |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const row of r.rows) {
    const m = row.measured;
    const [a, g] = m.fused.kernels;
    const [, , d, u] = m.unfused.kernels;
    const rank0 = m.rank0.bytes;
    lines.push(
      `| ${m.shape.N} × ${m.shape.K} (${row.layers.map((l) => l.name).join(', ')}) | ${MB(m.fused.bytes)} (${MB(a.loadBytes + a.storeBytes)} + ${MB(g.loadBytes + g.storeBytes)}) | ` +
        `${MB(m.unfused.bytes)} (… + ${MB(d.loadBytes + d.storeBytes)} + ${MB(u.loadBytes + u.storeBytes)}) | ${MB(rank0)} | ` +
        `+${MB(m.fused.bytes - rank0)} | +${MB(m.unfused.bytes - rank0)} | ${m.ratio.toFixed(3)} |`,
    );
  }
  const f = r.rows.reduce((s, x) => s + x.perForward.fused, 0);
  const u = r.rows.reduce((s, x) => s + x.perForward.unfused, 0);
  const z = r.rows.reduce((s, x) => s + x.perForward.rank0, 0);
  return [
    `Global-memory bytes (MB = 10⁶ B, loads + stores as the emulator counts them per launch) of one layer at M = ${r.m} tokens, rank ${r.rank}, ${r.dtype}, ${r.target} default tiles:`,
    '',
    ...lines,
    '',
    `Per FLUX.1-dev forward pass at 1024², linear extrapolation of the counters to the real M (image 4096, text 512, joint 4608 rows) × layer counts: ` +
      `fused ${GB(f)} GB, unfused ${GB(u)} GB, rank 0 ${GB(z)} GB (unfused − fused = ${GB(u - f)} GB).`,
    '',
    'Reproduce: `npx tsx bench/index.ts fusion` (JSON: .cache/bench/fusion.json).',
  ].join('\n');
}

export async function benchFusion(o: FusionBenchOptions = {}): Promise<FusionBenchResult> {
  const m = o.m ?? 256;
  const rank = o.rank ?? 32;
  const target = resolveGpu(o.gpu ?? 'sm_89');
  const dtype: Dtype16 = supportsBf16(target) ? 'bf16' : 'fp16';
  const catalog = resolveModel(o.model ?? 'flux.1-dev');
  const layers = shapesFor(catalog, { rank }).filter((l) => l.kind === 'w4a4');
  const byShape = new Map<string, typeof layers>();
  for (const l of layers) byShape.set(`${l.n}x${l.kPadded}`, [...(byShape.get(`${l.n}x${l.kPadded}`) ?? []), l]);

  const started = Date.now();
  const builds = await buildFusion(target, dtype, rank);
  const rows: FusionBenchRow[] = [];
  for (const group of byShape.values()) {
    const { n: N, kPadded: K } = group[0];
    const measured = await measureFusion(builds, { M: m, N, K });
    const half = await measureFusion(builds, { M: m / 2, N, K });
    if (measured.findings + half.findings > 0) throw new Error(`fusion bench: checker findings for ${N}×${K}; run the unfused test`);
    const per = (bytes: number) => group.reduce((s, l) => s + (bytes * l.m * l.count) / m, 0);
    const predicted = predictLayer({ gpu: target.id, m, n: N, k: K, rank, variant: 'unfused' });
    const byName = (name: string) => predicted.kernels.find((k) => k.name === name)?.bytes ?? NaN;
    const [, , d, u] = measured.unfused.kernels;
    rows.push({
      layers: group.map((l) => ({ name: l.layer, m: l.m, count: l.count })),
      measured,
      linearity: {
        fused: measured.fused.bytes / half.fused.bytes,
        unfused: measured.unfused.bytes / half.unfused.bytes,
        rank0: measured.rank0.bytes / half.rank0.bytes,
      },
      perForward: {
        fused: per(measured.fused.bytes),
        unfused: per(measured.unfused.bytes),
        rank0: per(measured.rank0.bytes),
        saved: per(measured.savedBytes),
        label: 'linear extrapolation from measured counters',
      },
      costModel: {
        label: 'predicted',
        loraDown: byName('lowrank-down'),
        loraUp: byName('lowrank-up'),
        measuredLoraDown: d.loadBytes + d.storeBytes,
        measuredLoraUp: u.loadBytes + u.storeBytes,
      },
    });
    console.log(`  ${N}×${K} measured (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  const base = { model: catalog.id, target: target.id, dtype, m, rank, rows };
  const result: FusionBenchResult = { ...base, markdown: markdownTable(base) };
  printDetails(result);
  console.log(`\n${result.markdown}`);
  const out = o.out ?? path.join(REPO, '.cache', 'bench', 'fusion.json');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await fs.writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  return result;
}

function printDetails(r: FusionBenchResult): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (b: number) => b.toLocaleString('en-US').padStart(13);
  console.log(`\n${r.model} on ${r.target} (${r.dtype}, rank ${r.rank}), M = ${r.m}: global bytes per launch (emulator counters)`);
  for (const row of r.rows) {
    const m = row.measured;
    console.log(`\n${m.shape.N} × ${m.shape.K}  [${row.layers.map((l) => l.name).join(', ')}]`);
    console.log(`  ${pad('variant / kernel', 96)} ${'loaded'.padStart(13)} ${'stored'.padStart(13)} ${'total'.padStart(13)}`);
    for (const [name, v] of [['fused', m.fused], ['unfused', m.unfused], ['rank 0', m.rank0]] as const) {
      for (const k of v.kernels) console.log(`  ${pad(`${name}: ${k.kernel}`, 96)} ${num(k.loadBytes)} ${num(k.storeBytes)} ${num(k.loadBytes + k.storeBytes)}`);
      console.log(`  ${pad(`${name}: total`, 96)} ${num(v.loadBytes)} ${num(v.storeBytes)} ${num(v.bytes)}`);
    }
    console.log(`  unfused / fused = ${m.ratio.toFixed(3)}; bytes(M)/bytes(M/2): fused ${row.linearity.fused.toFixed(4)}, unfused ${row.linearity.unfused.toFixed(4)}, rank 0 ${row.linearity.rank0.toFixed(4)}`);
    const c = row.costModel;
    console.log(`  cost model (predicted) vs measured: lora_down ${num(c.loraDown)} vs ${num(c.measuredLoraDown)}; lora_up ${num(c.loraUp)} vs ${num(c.measuredLoraUp)}`);
  }
}
