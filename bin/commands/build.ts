// `svdq-codegen build --gpu sm_89[,sm_120a] --out dist/ [--model flux.1-dev | --spec FILE] [--db tune.json …] [--embed]`: the
// package other runtimes import (export/build.ts; layout in docs/export.md).
import type { Command } from 'commander';
import { checkInputFile } from '../../codegen/paths.js';
import { buildPackage } from '../../export/build.js';
import { recordsForSpecs } from '../../export/user-spec.js';
import { loadUserSpecFile } from '../../dsl/load.js';
import { UserError } from '../../dsl/errors.js';
import { resolveGpu } from '../../dsl/targets.js';
import { readDb } from '../../tuner/db.js';
import type { TuneRecord } from '../../tuner/records.js';

const list = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function register(program: Command): void {
  program
    .command('build')
    .description('build dist/: C ABI header, CUDA libraries, CPU-emulator library, CMake package, PyTorch extension, manifest')
    .requiredOption('--gpu <gpus>', 'targets, comma-separated or repeated: arches (sm_89) or card ids', list)
    .requiredOption('--out <dir>', 'output directory (replaced atomically; a non-empty folder svdq-codegen did not make needs --force)')
    .option('--force', 'replace --out even when it is a non-empty folder svdq-codegen did not create')
    .option('--model <id>', 'model catalog whose layer specs are exported (default flux.1-dev)')
    .option('--db <paths>', 'tuning databases whose records become the dispatch tables (default .svdq/tune-<gpu>.json when present)', list)
    .option('--spec <file.ts>', 'export the kernels of your own DSL file (as gen --spec) instead of a model catalog; --db records of its kernels become dispatch rows')
    .option('--embed', 'also write dist/embed/: one header + source pair per kernel family with the cubins embedded, loaded with the CUDA driver API at first use (no libsvdq.so needed; docs/export.md)')
    .option('--no-cuda', 'skip dist/lib (no nvcc)')
    .option('--no-emu', 'skip dist/emu (no g++)')
    .action(async (o) => {
      // --gpu sm_89 --gpu sm_89 names one target, not two (the rows would double).
      const targets = [...new Map((o.gpu as string[]).map((g) => resolveGpu(g)).map((t) => [t.id, t])).values()];
      if (o.spec && o.model) throw new UserError('--model: not allowed with --spec (the spec file names the kernels); give one or the other');
      const specs = o.spec ? await loadUserSpecFile(o.spec) : undefined;
      // A database named on the command line must exist (a typo would otherwise build with no tuned rows).
      if (o.db) for (const p of o.db as string[]) checkInputFile(p, '--db', 'tuning database');
      const dbs: string[] = o.db ?? targets.map((t) => `.svdq/tune-${t.id}.json`);
      const records: TuneRecord[] = [];
      for (const p of dbs) records.push(...(await readDb(p)).records);
      const chosen = specs ? recordsForSpecs(records, specs, targets, o.spec) : records;
      const step = (s: string) => process.stderr.write(`${s}\n`);
      const r = await buildPackage({ gpus: targets.map((t) => t.id), out: o.out, force: Boolean(o.force), model: o.model, specs, records: chosen, cuda: o.cuda, emu: o.emu, embed: Boolean(o.embed), onStep: step });
      const tuned = r.selection.dispatch.length;
      process.stdout.write(
        `${r.out}: ${r.selection.kernels.length} kernel(s) for ${r.targets.map((t) => t.arch).join(', ')}, ${tuned} tuned dispatch row(s)` +
          `${r.selection.skipped.length ? `, ${r.selection.skipped.length} skipped (see manifest.json)` : ''}\n`,
      );
    });
}
