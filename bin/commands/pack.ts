// `svdq-codegen pack --from nunchaku|logical IN.safetensors --out OUT.safetensors [--format int4|nvfp4|mxfp4]
// [--model ID|none] [--no-strict]`: converts a checkpoint into the canonical packed layout
// (export/pack/pack.ts), streaming layer by layer, with progress on stderr.
import type { Command } from 'commander';
import { checkInputFile, checkOutputFile } from '../../codegen/paths.js';
import { UserError } from '../../dsl/errors.js';
import { packCheckpoint, parseShapeOption, type PackFormatKind, type PackSource } from '../../export/pack/pack.js';
import { PACK_MODELS } from '../../export/pack/models.js';
import { packProgress } from '../../export/pack/progress.js';

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
    .requiredOption('--from <source>', 'nunchaku (its packed layouts, either naming) or logical (PyTorch-style tensors)', oneOf<PackSource>('--from', ['nunchaku', 'logical']))
    .requiredOption('--out <file>', 'output .safetensors (written atomically)')
    .option('--format <kind>', 'require every layer to be int4, nvfp4 or mxfp4', oneOf<PackFormatKind>('--format', ['int4', 'nvfp4', 'mxfp4']))
    .option('--dtype <dtype>', 'layer dtype when no 16-bit tensor tells it (fp16 or bf16)', oneOf('--dtype', ['fp16', 'bf16'] as const))
    .option('--shape <prefix=NxK>', 'Nunchaku: real shape of a layer padded to 128 (repeatable; --model gives it)', collect)
    .option('--model <id>', `model whose catalog names each layer and sets its activation coding (${PACK_MODELS.join(', ')}, or none); default: detected from the keys`, oneOf('--model', [...PACK_MODELS, 'none']))
    .option('--no-strict', 'copy quantized-looking tensors no layer consumes (listed in svdq.unrecognized) instead of refusing')
    .action(async (input: string, o) => {
      checkInputFile(input, 'pack', 'checkpoint');
      checkOutputFile(o.out, '--out');
      const progress = packProgress();
      let r;
      try {
        r = await packCheckpoint({ from: o.from, input, output: o.out, format: o.format, dtype: o.dtype, shapes: parseShapeOption(o.shape ?? []), model: o.model, strict: o.strict, onLayer: progress.onLayer });
      } finally {
        progress.stop();
      }
      const u4 = r.layers.filter((l) => l.activation.unsigned).length;
      const lines = [
        `${r.output}: ${r.layers.length} layer(s) packed (layout v${r.metadata['svdq.layout_version']}; model ${r.model ?? 'none'}${r.metadata['svdq.model_detected'] ? ', detected' : ''}; ${u4} with u4 activations), ${r.passthrough.length} tensor(s) copied`,
      ];
      for (const d of r.dropped) lines.push(`  dropped ${d.tensor}: ${d.reason}`);
      if (r.copiedQuantized.length) lines.push(`  copied unchanged: ${r.copiedQuantized.length} tensor(s) of AWQ W4A16 layers (svdq.copied_quantized)`);
      for (const d of r.unrecognized) lines.push(`  copied although unrecognized (--no-strict): ${d.tensor}: ${d.reason}`);
      if (!r.model) lines.push('  no model: every layer recorded with signed activations (pass --model if a layer takes u4 GELU outputs)');
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
