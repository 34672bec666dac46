// `svdq-codegen tune --gpu sm_89 [--model flux.1-dev] …`: the autotuner (tuner/tune.ts).
import path from 'node:path';
import type { Command } from 'commander';
import { checkOutputFile, checkWritableDir } from '../../codegen/paths.js';
import { isSlowInt4Target, slowInt4Warning, withSlowInt4 } from '../../dsl/compat.js';
import { UserError } from '../../dsl/errors.js';
import { loadUserSpecFile } from '../../dsl/load.js';
import { resolveGpu } from '../../dsl/targets.js';
import { ensureDisassembler } from '../../codegen/inspect/index.js';
import { disassemblableSm } from '../../codegen/inspect/tools.js';
import { parseShapes } from '../../tuner/jobs.js';
import { tuneProgressReporter } from '../../tuner/progress.js';
import { renderSummaryTable, useColor } from '../../tuner/report.js';
import { parseShard } from '../../tuner/shard.js';
import { reportPathFor } from '../../tuner/report.js';
import { defaultDbPath, tune, type TuneResult } from '../../tuner/tune.js';

/** `--shapes ,,` is a mistake, not "no shapes" (it used to tune the whole default model). */
function shapesArg(v: string): string[] {
  const shapes = parseShapes(v);
  if (shapes.length === 0) throw new UserError(`--shapes: ${JSON.stringify(v)} names no problem; expected MxNxK,… (e.g. 4096x3072x3072)`);
  return shapes;
}

export function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 1) throw new UserError(`${flag}: ${JSON.stringify(v)} is not valid; expected a positive integer`);
    return n;
  };
}

export function rankArg(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n % 16 !== 0 || n > 1024) throw new UserError(`--rank: ${JSON.stringify(v)} is not valid; expected a multiple of 16 in [0, 1024]`);
  return n;
}

function modeArg(v: string): 'auto' | 'measure' | 'model' {
  if (v !== 'auto' && v !== 'measure' && v !== 'model') throw new UserError(`--mode: ${JSON.stringify(v)} is not valid; expected auto, measure or model`);
  return v;
}

export function tuneJson(r: TuneResult) {
  return {
    target: { id: r.target.id, arch: r.target.arch, name: r.target.name },
    mode: r.mode,
    modeReason: r.modeReason,
    db: r.dbPath,
    report: r.reportPath ?? null,
    dispatch: r.dispatchPath ?? null,
    shard: r.shard ?? null,
    jobs: r.jobs,
    tuned: r.tuned,
    resumed: r.resumed,
    failures: r.failures,
    /** Predicted linear-layer time of one forward (Σ records × calls per forward), µs; null without the fields. */
    modelTotalUs: r.totals?.modelTotalUs ?? null,
    modelTotalBaselineUs: r.totals?.modelTotalBaselineUs ?? null,
    vsBaseline: r.totals?.vsBaseline ?? null,
    modelTotalByKind: r.totals?.byKind ?? null,
    records: r.records.map((x) => ({
      layers: x.layers,
      shape: x.shape,
      bucket: x.bucket,
      gemmUri: x.gemmUri,
      actUri: x.actUri,
      timing: x.timing,
      resources: x.resources,
      correctness: x.correctness ?? null,
      countPerForward: x.countPerForward ?? null,
      predictedTerms: x.predictedTerms ?? null,
      mainLoop: x.mainLoop ?? null,
      defaultTile: x.defaultTile ?? null,
      baseline: x.baseline ?? null,
      vsBaseline: x.vsBaseline ?? null,
    })),
  };
}

/**
 * The dispatch header a run writes: --dispatch, else per shard `<db dir>/dispatch/<id>.shard-i-of-n.h`
 * (the shards of one run share a database; a shared header was rewritten by each, racing), else
 * undefined (tune's default, `<db dir>/dispatch/<id>.h`).
 */
export function dispatchPathFor(db: string, targetId: string, shard: { index: number; count: number } | undefined, given?: string): string | undefined {
  if (given) return given;
  return shard ? path.join(path.dirname(db), 'dispatch', `${targetId}.shard-${shard.index}-of-${shard.count}.h`) : undefined;
}

export function register(program: Command): void {
  program
    .command('tune')
    .description('pick the fastest kernel configuration for every layer shape of a model on a GPU (measured on a GPU, predicted otherwise)')
    .requiredOption('--gpu <gpu>', 'target GPU: an arch (sm_89) or a card id (rtx4090, l40s, …)')
    .option('--model <id>', 'built-in model catalog (default flux.1-dev)')
    .option('--resolution <px>', 'square image size in pixels (default: the model’s)', positiveInt('--resolution'))
    .option('--batch <n>', 'batch per forward (default: the model’s)', positiveInt('--batch'))
    .option('--shapes <list>', 'explicit problems MxNxK,… instead of a model catalog; with --spec also LABEL=MxNxK (that spec only)', shapesArg)
    .option('--spec <file.ts>', 'tune the kernels of your own DSL file (as gen --spec) at --shapes')
    .option('--rank <r>', 'low-rank branch rank (default: the model’s, 32)', rankArg)
    .option('--mode <mode>', 'auto (measure on a GPU, else model) | measure | model', modeArg, 'auto')
    .option('--db <path>', 'tuning database (default .svdq/tune-<gpu>.json)')
    .option('--shard <i/n>', 'tune only shard i of n (merge with `db merge`)', parseShard)
    .option('--force', 're-tune shapes that already have a record')
    .option('--top-k <k>', 'GEMM candidates compiled per shape per round (default 3)', positiveInt('--top-k'))
    .option('--allow-f16-accum', 'also search f16 cross-group accumulation (faster, less accurate)')
    .option('--allow-slow-int4', 'sm_90 only: tune the INT4 m16n8k64 path anyway (Hopper has no 4-bit fast path; labelled slow)')
    .option('--verify', 'model mode: check each chosen config on the CPU emulator against the reference')
    .option('--dispatch <path>', 'dispatch header to write (default <db dir>/dispatch/<gpu>.h)')
    .option('--no-report', 'do not write the HTML report next to the database')
    .option('--jobs <n>', 'parallel compiles (default: CPU cores)', positiveInt('--jobs'))
    .option('--json', 'print a JSON result instead of the table')
    .action(async (o) => {
      if (o.shapes && o.model) throw new UserError('--shapes: cannot be combined with --model; give one or the other');
      if (o.spec) {
        for (const [flag, v] of [['--model', o.model], ['--rank', o.rank], ['--resolution', o.resolution], ['--batch', o.batch]] as const) {
          if (v !== undefined) throw new UserError(`${flag}: not allowed with --spec (the spec file sets the kernels, --shapes the problems)`);
        }
      }
      // Loaded (and its errors reported with file:line) before any output path is touched.
      const specs = o.spec ? { file: o.spec as string, specs: await loadUserSpecFile(o.spec) } : undefined;
      if (o.allowSlowInt4) {
        const slow = withSlowInt4(resolveGpu(o.gpu));
        if (isSlowInt4Target(slow)) process.stderr.write(`${slowInt4Warning(slow)}\n`);
      }
      // Every output path is checked before tuning starts (a read-only disk used to fail after the whole run).
      const target = resolveGpu(o.gpu);
      const db: string = o.db ?? defaultDbPath(target);
      checkOutputFile(db, '--db');
      // Each shard writes its own dispatch header: the shards of one run share a database, not a header.
      const dispatch = dispatchPathFor(db, target.id, o.shard, o.dispatch);
      if (dispatch) checkOutputFile(dispatch, '--dispatch');
      else checkWritableDir(path.join(path.dirname(db), 'dispatch'), '--db (its dispatch/ folder)');
      if (o.report !== false) checkOutputFile(reportPathFor(db), '--db (its HTML report)');
      // The final ranking reads the compiled main loop: fetch a disassembler once if there is none
      // (tuning still runs without one, on PTX-level counts).
      if (disassemblableSm(target.arch) !== undefined) await ensureDisassembler((line) => process.stderr.write(`${line}\n`));
      const progress = tuneProgressReporter(process.stderr, !o.json);
      let result: TuneResult;
      try {
        result = await tune({
          gpu: o.gpu,
          model: o.model,
          resolution: o.resolution,
          batch: o.batch,
          shapes: o.shapes,
          specs,
          rank: o.rank,
          mode: o.mode,
          db,
          shard: o.shard,
          force: Boolean(o.force),
          topK: o.topK,
          allowF16Accum: Boolean(o.allowF16Accum),
          allowSlowInt4: Boolean(o.allowSlowInt4),
          verify: Boolean(o.verify),
          dispatch,
          report: o.report !== false,
          concurrency: o.jobs,
          onProgress: progress.onProgress,
        });
      } finally {
        progress.stop();
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(tuneJson(result), null, 2)}\n`);
      } else {
        process.stdout.write(renderSummaryTable(result.records, result.target, useColor(process.stdout)));
        process.stdout.write(`database: ${result.dbPath} (${result.tuned} tuned, ${result.resumed} resumed)\n`);
        if (result.reportPath) process.stdout.write(`report:   ${result.reportPath}\n`);
        if (result.dispatchPath) process.stdout.write(`dispatch: ${result.dispatchPath}\n`);
      }
      for (const f of result.failures) process.stderr.write(`failed: ${f.layers.join(', ')} ${f.shape.m}×${f.shape.n}×${f.shape.k}: ${f.reason}\n`);
      if (result.failures.length) process.exitCode = 1;
    });
}
