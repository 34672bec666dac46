// `svdq-codegen run --gpu sm_89 --backend emu|gpu --in layer.safetensors --out y.safetensors [--config URI]`:
// one SVDQuant layer from logical tensors (docs/cli.md) through the generated kernels.
import type { Command } from 'commander';
import { checkInputFile, checkOutputFile } from '../../codegen/paths.js';
import { UserError } from '../../dsl/errors.js';
import type { Backend } from '../../runtime/harness/harness.js';
import { runLayerFile } from '../../runtime/harness/run-file.js';
import { isSlowInt4Target, slowInt4Warning, withSlowInt4 } from '../../dsl/compat.js';
import { resolveGpu } from '../../dsl/targets.js';
import { FORMAT_KINDS } from '../../dsl/formats.js';
import type { FormatKind } from '../../dsl/types.js';

export function backendArg(v: string): Backend {
  if (v !== 'emu' && v !== 'gpu') throw new UserError(`--backend: ${JSON.stringify(v)} is not valid; expected emu (the CPU emulator) or gpu`);
  return v;
}

export function groupArg(v: string): number {
  const g = Number(v);
  if (![16, 32, 64, 128].includes(g)) throw new UserError(`--group: ${JSON.stringify(v)} is not valid; expected 32, 64 or 128 (int4), 16 (nvfp4) or 32 (mxfp4)`);
  return g;
}

export function formatArg(v: string): FormatKind {
  if (!(FORMAT_KINDS as readonly string[]).includes(v)) throw new UserError(`--format: ${JSON.stringify(v)} is not valid; expected ${FORMAT_KINDS.join(', ')}`);
  return v as FormatKind;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run one SVDQuant layer from a safetensors file on the emulator or a GPU')
    .requiredOption('--gpu <gpu>', 'target GPU: an arch (sm_89) or a card id (rtx4090, …)')
    .requiredOption('--in <file>', 'input .safetensors: x, qweight+wscales (int4, NVFP4 [+ wtensor_scale], MXFP4) or weight, smooth, lora_down, lora_up, bias')
    .requiredOption('--out <file>', 'output .safetensors (y [M,N] in x’s dtype)')
    .option('--backend <backend>', 'emu (CPU emulator) or gpu', backendArg, 'emu')
    .option('--config <uri>', 'GEMM kernel URI (w4a4_…) instead of the default tile')
    .option('--act-config <uri>', 'activation kernel URI (act_…) instead of the default tile')
    .option('--format <kind>', "format for quantizing a float `weight`: int4, nvfp4 or mxfp4 (default: the target's native format)", formatArg)
    .option('--group <g>', 'int4 group size when quantizing a float `weight` (default 64; nvfp4 is 16, mxfp4 32)', groupArg)
    .option('--time', 'also time the layer (GPU: CUDA events; emulator: wall clock, not a GPU time)')
    .option('--allow-slow-int4', 'sm_90 only: build the INT4 m16n8k64 path anyway (Hopper has no 4-bit fast path; labelled slow)')
    .option('--json', 'print the result as JSON')
    .action(async (o) => {
      if (o.allowSlowInt4) {
        const slow = withSlowInt4(resolveGpu(o.gpu));
        if (isSlowInt4Target(slow)) process.stderr.write(`${slowInt4Warning(slow)}\n`);
      }
      checkInputFile(o.in, '--in', 'layer file');
      checkOutputFile(o.out, '--out'); // before the layer runs, not after
      const r = await runLayerFile({
        gpu: o.gpu,
        backend: o.backend,
        input: o.in,
        output: o.out,
        config: o.config,
        actConfig: o.actConfig,
        format: o.format,
        group: o.group,
        time: o.time ? {} : undefined,
        allowSlowInt4: o.allowSlowInt4,
      });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const lines = [
        `ran ${r.M}×${r.N}×${r.K} (rank ${r.rank}) on ${r.backend === 'emu' ? 'the emulator' : 'the GPU'}; wrote ${o.out}`,
        `  GEMM ${r.gemmUri}`,
        `  act  ${r.actUri}`,
      ];
      if (r.timing) {
        const t = r.timing;
        const label = t.clock === 'cuda-events' ? 'measured' : 'emulator wall clock, not a GPU time';
        lines.push(`  ${(t.total.median_ms * 1000).toFixed(1)} µs median (${label}; act ${(t.act.median_ms * 1000).toFixed(1)} µs, GEMM ${(t.gemm.median_ms * 1000).toFixed(1)} µs, ${t.total.reps} reps, p10–p90 ${(t.total.p10_ms * 1000).toFixed(1)}–${(t.total.p90_ms * 1000).toFixed(1)} µs)`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
