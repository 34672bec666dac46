// `svdq-codegen inspect --gpu sm_89 <URI>… | --spec FILE [--tile T] | --model M [--json] [--keep DIR]`:
// the static view of compiled kernels (codegen/inspect, docs/inspect.md). `--install-disassembler` fetches
// cuobjdump/nvdisasm into the tools cache when none is installed (CI runs it).
import path from 'node:path';
import type { Command } from 'commander';
import { checkKeepDir } from '../../codegen/inspect/inspect.js';
import { findDisassembler, inspectUri, installDisassembler, toolsDir, type KernelInspection } from '../../codegen/inspect/index.js';
import { selectKernels } from '../../codegen/inspect/select.js';
import { renderInspectTables } from '../../codegen/inspect/table.js';
import { useColor } from '../../tuner/report.js';

/** Folder name for one kernel under --keep (URIs are file-name safe). */
const keepFor = (root: string | undefined, uri: string, many: boolean): string | undefined => (root === undefined ? undefined : many ? path.join(root, uri) : root);

export function register(program: Command): void {
  program
    .command('inspect')
    .description('compile kernels and report their main loop from SASS: instructions per 4-bit MMA by class, registers, shared memory, predicted issue vs tensor cycles')
    .argument('[uris...]', 'kernel URIs (each names its arch)')
    .option('--gpu <gpu>', 'target GPU: an arch (sm_89) or a card id; required with --spec/--model')
    .option('--spec <file.ts>', 'inspect the kernels of your own DSL file (default tiles, or --tile)')
    .option('--tile <tile>', 'GEMM tile for --spec/--model, e.g. m128n256k128_w2x4_s2_smem_f32acc')
    .option('--model <id>', 'inspect every kernel of a built-in model catalog on --gpu')
    .option('--keep <dir>', 'leave kernel.cu, kernel.cubin and the listing there (one sub-folder per kernel when several)')
    .option('--json', 'print JSON')
    .option('--install-disassembler', `fetch cuobjdump/nvdisasm (CUDA 11.8, Debian non-free) into ${path.relative(process.cwd(), toolsDir()) || toolsDir()} when none is installed, then exit`)
    .action(async (uris: string[], o) => {
      if (o.installDisassembler) {
        const found = findDisassembler();
        const p = found ? found.cuobjdump : await installDisassembler(undefined, (line) => process.stderr.write(`${line}\n`));
        process.stdout.write(`${found ? `disassembler already available (${found.from})` : 'installed'}: ${p}\n`);
        return;
      }
      const { uris: list, target } = await selectKernels({ uris, gpu: o.gpu, spec: o.spec, tile: o.tile, model: o.model });
      if (o.keep !== undefined) await checkKeepDir(o.keep);
      const progress = o.json || !process.stderr.isTTY ? undefined : (i: number, uri: string) => process.stderr.write(`\r${i}/${list.length} ${uri}\x1b[K`);
      const rows: KernelInspection[] = [];
      for (const [i, uri] of list.entries()) {
        progress?.(i + 1, uri);
        rows.push(await inspectUri(uri, { keepDir: keepFor(o.keep, uri, list.length > 1), target }));
      }
      if (progress) process.stderr.write('\r\x1b[K');
      if (o.json) process.stdout.write(`${JSON.stringify({ label: 'static counts; cycles are predicted', kernels: rows }, null, 2)}\n`);
      else process.stdout.write(`${renderInspectTables(rows, useColor())}\n`);
    });
}
