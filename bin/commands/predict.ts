// `svdq-codegen predict --gpu sm_89 --m 4096 --n 3072 --k 3072 [--rank 32] [--variant fused|unfused|no-lowrank]`:
// the cost model's estimate for one layer (tuner/predict.ts). Every number printed is predicted.
import type { Command } from 'commander';
import { UserError } from '../../dsl/errors.js';
import { predictLayer, VARIANTS, type Variant } from '../../tuner/predict.js';
import { positiveInt, rankArg } from './tune.js';

function variantArg(v: string): Variant {
  if (!(VARIANTS as readonly string[]).includes(v)) throw new UserError(`--variant: ${JSON.stringify(v)} is not valid; expected ${VARIANTS.join(', ')}`);
  return v as Variant;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('predicted time of one layer from the roofline cost model (no GPU needed)')
    .requiredOption('--gpu <gpu>', 'target GPU: an arch (sm_89) or a card id')
    .requiredOption('--m <m>', 'rows (tokens)', positiveInt('--m'))
    .requiredOption('--n <n>', 'output features', positiveInt('--n'))
    .requiredOption('--k <k>', 'input features', positiveInt('--k'))
    .option('--rank <r>', 'low-rank branch rank (default 32)', rankArg)
    .option('--variant <v>', 'fused | unfused | no-lowrank', variantArg, 'fused')
    .option('--config <uri>', 'a GEMM kernel URI to use instead of the best predicted tile')
    .option('--json', 'print JSON')
    .action((o) => {
      const p = predictLayer({ gpu: o.gpu, m: o.m, n: o.n, k: o.k, rank: o.rank, variant: o.variant, config: o.config });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(p, null, 2)}\n`);
        return;
      }
      const lines = [
        `${p.shape.m}×${p.shape.n}×${p.shape.k}, rank ${p.shape.rank}, ${p.variant} on ${p.target}: ${p.time_us.toFixed(1)} µs predicted`,
        `  ${p.tflops.toFixed(0)} TFLOPS (${p.percent_of_peak.toFixed(1)}% of the 4-bit peak), ${(p.bytes / 1e6).toFixed(1)} MB moved, ${p.bound}-bound`,
        `  GEMM ${p.config.gemm}`,
        `  act  ${p.config.act}`,
        ...p.kernels.map((k) => `  ${k.name.padEnd(13)} ${k.time_us.toFixed(1).padStart(8)} µs predicted  ${k.bound}`),
        '  main loop: static estimate (no compile); `tune` ranks with the compiled kernel\'s instruction counts',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
