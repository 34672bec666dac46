// `svdq-codegen pack --from nunchaku|logical IN.safetensors --out OUT.safetensors [--format int4|nvfp4]`:
// converts a checkpoint into the canonical packed layout (export/pack/pack.ts), streaming layer by layer.
import type { Command } from 'commander';
import { checkInputFile, checkOutputFile } from '../../codegen/paths.js';
import { UserError } from '../../dsl/errors.js';
import { packCheckpoint, parseShapeOption, type PackFormatKind, type PackSource } from '../../export/pack/pack.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function oneOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (v: string): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new UserError(`${flag}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    return v as T;
  };
}

export function register(program: Command): void {
  program
    .command('pack')
    .description('convert a checkpoint (Nunchaku or logical tensors) into the canonical packed layout')
    .argument('<input>', 'input .safetensors')
    .requiredOption('--from <source>', 'nunchaku (its packed layouts) or logical (PyTorch-style tensors)', oneOf<PackSource>('--from', ['nunchaku', 'logical']))
    .requiredOption('--out <file>', 'output .safetensors (written atomically)')
    .option('--format <kind>', 'require every layer to be int4 or nvfp4', oneOf<PackFormatKind>('--format', ['int4', 'nvfp4']))
    .option('--dtype <dtype>', 'layer dtype when no 16-bit tensor tells it (fp16 or bf16)', oneOf('--dtype', ['fp16', 'bf16'] as const))
    .option('--shape <prefix=NxK>', 'Nunchaku: real shape of a layer padded to 128 (repeatable)', collect)
    .action(async (input: string, o) => {
      checkInputFile(input, 'pack', 'checkpoint');
      checkOutputFile(o.out, '--out');
      const progress = process.stderr.isTTY ? (done: number, total: number, p: string) => process.stderr.write(`\r${done}/${total} ${p}\x1b[K`) : undefined;
      const r = await packCheckpoint({ from: o.from, input, output: o.out, format: o.format, dtype: o.dtype, shapes: parseShapeOption(o.shape ?? []), onLayer: progress });
      if (progress) process.stderr.write('\r\x1b[K');
      process.stdout.write(
        `${r.output}: ${r.layers.length} layer(s) packed (layout v${r.metadata['svdq.layout_version']}), ${r.passthrough.length} tensor(s) copied` +
          `${r.dropped.length ? `, ${r.dropped.length} dropped (${r.dropped.join(', ')})` : ''}\n`,
      );
    });
}
