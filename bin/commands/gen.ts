// `svdq-codegen gen [--check] [--out generated]`: renders the built-in catalog's kernels into generated/;
// with --check nothing is written and the exit code says whether generated/ is stale (CI runs it).
import type { Command } from 'commander';
import { generateCatalog } from '../../codegen/generate.js';
import { generateUserSpecs } from '../../codegen/generate-user.js';
import { checkWritableDir } from '../../codegen/paths.js';
import { UserError } from '../../dsl/errors.js';

export function register(program: Command): void {
  program
    .command('gen')
    .description('render the built-in kernels (FLUX.1-dev, Qwen-Image; INT4 sm_75/80/86/89, NVFP4/MXFP4 sm_120a/121a) into generated/')
    .option('--check', 'compare only; exit 1 when generated/ is stale')
    .option('--out <dir>', 'output directory (default: <repo>/generated)')
    .option('--spec <file.ts>', 'render the kernels of your own DSL file instead (needs --gpu and --out): a self-contained folder with the device headers, manifest.json, CMakeLists.txt and a one-line nvcc command (README.md)')
    .option('--gpu <gpu>', 'with --spec: target GPU, an arch (sm_89) or a card id')
    .action(async (o) => {
      if (o.spec) {
        if (!o.gpu || !o.out) throw new UserError('--spec: also give --gpu (e.g. sm_89) and --out (a folder of your own; generated/ holds the built-in catalog)');
        if (o.check) throw new UserError('--check: not allowed with --spec (it checks the built-in catalog)');
        checkWritableDir(o.out, '--out'); // a file, a read-only disk: refused before loading or rendering
        const r = await generateUserSpecs({ specFile: o.spec, gpu: o.gpu, outDir: o.out });
        for (const k of r.kernels) process.stdout.write(`${k.label}: ${k.file}\n`);
        process.stdout.write(`${o.out}: ${r.files.length} file(s) (kernels, device headers, manifest.json, CMakeLists.txt); compile there with:\n  ${r.compileLine}\n`);
        return;
      }
      if (o.out && !o.check) checkWritableDir(o.out, '--out');
      const r = await generateCatalog({ outDir: o.out, check: Boolean(o.check) });
      const kernels = r.files.filter((f) => f.endsWith('.cu')).length;
      if (o.check) {
        if (r.upToDate) {
          process.stdout.write(`${r.outDir}: up to date (${kernels} kernels)\n`);
          return;
        }
        const lines = [...r.changed.map((f) => `  differs: ${f}`), ...r.stale.map((f) => `  stale:   ${f}`)];
        process.stdout.write(`${r.outDir} is out of date; run \`svdq-codegen gen\`:\n${lines.join('\n')}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${r.outDir}: ${kernels} kernels, ${r.changed.length} file(s) written, ${r.stale.length} stale file(s) removed\n`);
    });
}
