// Stage 5, export smoke test: `svdq-codegen build` of the selection's specs for the first selected
// target (emulation library only: the CUDA library's kernels went through the compile matrix), then
// regress/export-consumer.c, a plain C program, is compiled against dist/include and linked
// against dist/emu/libsvdq_emu.so and run. The package is built through the library API when it loads,
// through the CLI otherwise; if neither can build it the stage fails and says why — it never passes
// without having run the consumer.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { REPO_ROOT } from '../codegen/cache.js';
import { EDGE_K, EDGE_N } from './cases.js';
import type { StageContext } from './context.js';
import type { CaseResult, RegressSubject } from './types.js';

export const CONSUMER_C = fileURLToPath(new URL('./export-consumer.c', import.meta.url));

type BuildPackage = (o: { gpus: readonly string[]; out: string; specs?: readonly RegressSubject['spec'][]; cuda?: boolean; emu?: boolean }) => Promise<unknown>;

async function buildThroughApi(out: string, gpu: string, specs: RegressSubject['spec'][]): Promise<string> {
  const mod = (await import('../export/build.js')) as { buildPackage?: BuildPackage };
  if (typeof mod.buildPackage !== 'function') throw new Error('export/build.ts has no buildPackage()');
  await mod.buildPackage({ gpus: [gpu], out, specs, cuda: false, emu: true });
  return 'library API';
}

async function buildThroughCli(out: string, gpu: string, catalog: string): Promise<string> {
  const cli = path.join(REPO_ROOT, 'bin', 'svdq-codegen.js');
  const r = await execa(process.execPath, [cli, 'build', '--gpu', gpu, '--out', out, '--model', catalog], { reject: false, all: true, env: { NO_COLOR: '1' } });
  if (r.exitCode !== 0) throw new Error(`\`svdq-codegen build\` exited ${r.exitCode}: ${(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  return 'CLI';
}

export async function exportStage(ctx: StageContext): Promise<CaseResult[]> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (ctx.subjects.length === 0) return [];
  // The consumer's layer: int4 bf16 signed, bias + low rank at the catalog rank; the package is built
  // for the first target that has one (sm_75 runs fp16, the FP4 archs other formats).
  const plain = ctx.subjects.find((s) => s.spec.format.kind === 'int4' && s.spec.dtype === 'bf16' && !s.spec.activation.unsigned && s.spec.epilogue.map((e) => e.op).join('-') === 'bias-lowrank');
  const first = plain ?? ctx.subjects[0];
  const specs = ctx.subjects.filter((s) => s.target.id === first.target.id).map((s) => s.spec);
  const name = `export ${first.target.id} (emulation library + C consumer)`;
  const fail = (message: string): CaseResult[] => [{ stage: 'export', name, status: 'failed', message, metrics: [], seconds: seconds() }];
  if (!plain) return [{ stage: 'export', name, status: 'skipped', message: 'no int4 bf16 bias+low-rank spec in the selection for the C consumer to run', metrics: [], seconds: 0 }];

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-regress-export-'));
  try {
    const dist = path.join(work, 'dist');
    let how: string;
    try {
      how = await buildThroughApi(dist, first.target.id, specs);
    } catch (apiError) {
      try {
        how = await buildThroughCli(dist, first.target.id, first.catalogs[0]?.id ?? 'flux.1-dev');
      } catch (cliError) {
        return fail(`the package could not be built — API: ${(apiError as Error).message.split('\n')[0]}; CLI: ${(cliError as Error).message.split('\n')[0]}`);
      }
    }
    ctx.log(`export: package built through the ${how}`);
    const lib = path.join(dist, 'emu', 'libsvdq_emu.so');
    if (!(await fs.stat(lib).then(() => true, () => false))) return fail(`the package has no emu/libsvdq_emu.so (built through the ${how})`);
    const exe = path.join(work, 'consumer');
    const cc = await execa('gcc', ['-std=c11', '-O1', '-Wall', '-Werror', '-I', path.join(dist, 'include'), CONSUMER_C, '-o', exe, '-L', path.dirname(lib), '-lsvdq_emu', `-Wl,-rpath,${path.dirname(lib)}`], { reject: false, all: true });
    if (cc.exitCode !== 0) return fail(`the C consumer does not compile against dist/include: ${(cc.all ?? '').split('\n').slice(0, 4).join(' | ')}`);
    const run = await execa(exe, [String(EDGE_N), String(EDGE_K), String(plain.spec.lowRank.rank)], { reject: false, all: true, timeout: 300_000 });
    if (run.exitCode !== 0) return [{ stage: 'export', name, status: 'regressed', message: `the C consumer failed (exit ${run.exitCode}): ${(run.all ?? '').trim().split('\n').slice(-3).join(' | ')}`, metrics: [], seconds: seconds() }];
    return [{ stage: 'export', name, status: 'passed', message: `${(run.stdout ?? '').trim()} (package built through the ${how})`, metrics: [], seconds: seconds() }];
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
