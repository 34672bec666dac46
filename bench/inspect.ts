// The static main-loop table (`npm run bench inspect`): every kernel of the committed catalog
// (generated/manifest.json) inspected on its arch — instructions per m16n8k64 in the GEMM main loop,
// per 64 elements of X in the activation kernel — with the predicted bound. Plus the tile `tune` picks
// for FLUX.1-dev on sm_89 (m128n256k128), the issue's second reference point. Static counts; cycles predicted.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Table from 'cli-table3';
import { REPO_ROOT } from '../codegen/cache.js';
import { inspectUri, type KernelInspection } from '../codegen/inspect/index.js';

const EXTRA = ['w4a4_int4g64_bf16_r32_m128n256k128_w2x4_s2_smem_f32acc_sm89_bias-lora'];

export async function benchInspect(): Promise<KernelInspection[]> {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'generated', 'manifest.json'), 'utf8')) as { kernels: Array<{ uri: string; arch: string }> };
  const uris = [...manifest.kernels.map((k) => k.uri), ...EXTRA];
  const rows: KernelInspection[] = [];
  for (const uri of uris) rows.push(await inspectUri(uri));
  const table = new Table({
    head: ['arch', 'kernel', 'level', 'instr/step', 'step', 'conv', 'FP32', 'int', 'branch', 'BAR/iter', 'flags', 'predicted (cycles/step)'],
    style: { head: [], border: [] },
  });
  for (const k of rows) {
    const l = k.mainLoop ?? k.act;
    const per = k.mainLoop ? k.mainLoop.perMma : k.act ? k.act.per64 : NaN;
    const p = k.predicted;
    const flags = l ? [l.hasMufu ? 'MUFU' : '', l.hasDivision ? 'DIV' : '', l.hasCall ? 'CALL' : '', l.hasBssy ? 'BSSY' : ''].filter(Boolean).join(' ') : '';
    table.push([
      k.arch,
      k.uri.replace(/_sm\d+a?_/, '_…_'),
      k.counts,
      Number.isNaN(per) ? '–' : per.toFixed(2),
      k.mainLoop ? 'MMA' : '64 el',
      l ? l.byClass.conv.toFixed(2) : '–',
      l ? l.byClass.fp32.toFixed(2) : '–',
      l ? l.byClass.int.toFixed(2) : '–',
      l ? l.byClass.branch.toFixed(2) : '–',
      l ? String(l.barriersPerIteration) : '–',
      flags || '–',
      p ? `${p.bound}${p.vsTensor !== null ? ` ${p.vsTensor.toFixed(2)}× tensor` : `-bound, ${p.issueCyclesPerK64.toFixed(0)} issue cycles`}` : '–',
    ]);
  }
  console.log(table.toString());
  console.log('Static counts of the loop body (an upper bound on what issues); level ptx = PTX-level (no disassembler for the arch); cycles are predicted (dsl/targets.ts issue model), not measured.');
  return rows;
}
