// GPU facts, each with its source (models-gpus-users.md §3 unless stated; "derived" = SMs × clock ×
// per-SM rate; "assumed" = not in the reference). The pruner and the cost model read only this table.
// Every source string starts with the fields it covers, so tests can check that nothing is unsourced.
import { UserError } from './errors.js';
import type { FormatKind, Mma4Bit, SmArch, Target } from './types.js';

const REF = 'models-gpus-users.md §3';
type Limits = Pick<Target, 'smemPerSmKiB' | 'smemPerBlockKiB' | 'regsPerSm' | 'maxRegsPerThread' | 'maxThreadsPerSm' | 'maxBlocksPerSm'> & { sources: string[] };

const LIMIT_FIELDS = 'smemPerSmKiB, smemPerBlockKiB, regsPerSm, maxThreadsPerSm, maxBlocksPerSm';
const REGS_PER_THREAD =
  'maxRegsPerThread 255: CUDA C++ Programming Guide, Technical Specifications (255 per thread for every CC ≥ 3.5); the reference states it only for CC 12.0 (Blackwell tuning guide), assumed for the others';
function limits(cc: string, smemSm: number, smemBlock: number, threads: number, blocks: number, extra = ''): Limits {
  return {
    smemPerSmKiB: smemSm,
    smemPerBlockKiB: smemBlock,
    regsPerSm: 65536,
    maxRegsPerThread: 255,
    maxThreadsPerSm: threads,
    maxBlocksPerSm: blocks,
    sources: [`${LIMIT_FIELDS}: CUDA C++ Programming Guide per-CC table, CC ${cc}, via ${REF} (per-SM limits table)${extra}`, REGS_PER_THREAD],
  };
}
const CC75 = limits('7.5', 64, 64, 1024, 16);
const CC80 = limits('8.0', 164, 163, 2048, 32, '; 163 KB per block cross-checked with flash-attention’s A100 autotuner');
const CC86 = limits('8.6', 100, 99, 1536, 16);
const CC89 = limits('8.9', 100, 99, 1536, 24);
const CC90 = limits('9.0', 228, 227, 2048, 32);
const CC100 = limits('10.0', 228, 227, 2048, 32, '; Blackwell tuning guide: 64 warps, 228 KB shared per SM, 227 KB per block (+256 KB TMEM)');
const CC120 = limits('12.0', 100, 99, 1536, 32, '; UNCERTAIN: ≈100 KB usable (tuning guide says 128 KB "capacity"; DeepGEMM SM120ArchSpec smem_capacity = 102400), 48 warps, 32 blocks/SM');

const MMA_SOURCE_INT4_SM80 = 'mma4bit: mma.sync m16n8k64 s4/u4 needs sm_80+ (ptx-fragments.md §1, nunchaku-kernels.md §4 instruction table)';
const MMA_SOURCE_INT4_SM75 = 'mma4bit: sm_75 has only mma.sync m8n8k32 s4/u4; m16n8k64 is rejected for sm_75 (nunchaku-kernels.md §4)';
const MMA_SOURCE_FP4_SM120 =
  'mma4bit: block-scaled mma.sync kind::mxf4nvf4 (4X, ue4m3) and kind::mxf4 (2X, ue8m0) exist on sm_120a/121a only (ptx-fragments.md §4.1–4.2); INT4 mma.sync compiles for sm_120a but NVIDIA lists no INT4 rate for GB202 and Nunchaku refuses INT4 there (models-gpus-users.md §3, #35)';
const L2_UNITS = 'units: vendor "MB" of L2 cache read as MiB';

function target(t: Omit<Target, Exclude<keyof Limits, 'sources'>> & { limits: Limits }): Target {
  const { limits: l, sources, ...rest } = t;
  const { sources: limitSources, ...lim } = l;
  return { ...rest, ...lim, sources: [...sources, ...limitSources, L2_UNITS] };
}

/** GeForce FP32-accumulate note shared by consumer parts. */
const GEFORCE_HALF = 'GeForce parts run FP16/BF16 with FP32 accumulation at half the FP16-accumulate rate';

export const TARGETS: readonly Target[] = [
  target({
    id: 'rtx2080ti', name: 'NVIDIA GeForce RTX 2080 Ti', arch: 'sm_75', smCount: 68, boostClockMHz: 1545,
    tensorTflops: { fp16: 53.8, bf16: 0, int8: 215, int4: 430, fp4: null },
    dramGBps: 616, l2MiB: 5.5, limits: CC75, mma4bit: ['int4.m8n8k32'],
    notes: 'Turing: no bf16 tensor cores (bf16 rate 0; use fp16 layers), no cp.async (register staging only). Reference-clock rates; the Founders Edition boosts to 1635 MHz.',
    sources: [
      `smCount 68, boostClockMHz 1545 (reference clock; FE 1635), tensorTflops.fp16 53.8 (FP32 accumulate), tensorTflops.int8 215, tensorTflops.int4 430, dramGBps 616, l2MiB 5.5: Turing whitepaper per ${REF} (marked UNCERTAIN to the decimal)`,
      'tensorTflops.bf16 0: Turing has no bf16 tensor path (models-gpus-users.md §3, Nunchaku #273); tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM75,
    ],
  }),
  target({
    id: 't4', name: 'NVIDIA T4', arch: 'sm_75', smCount: 40, boostClockMHz: 1590,
    tensorTflops: { fp16: 65, bf16: 0, int8: 130, int4: 260, fp4: null },
    dramGBps: 320, l2MiB: 4, limits: CC75, mma4bit: ['int4.m8n8k32'],
    notes: 'Turing at 70 W: throttles below its boost clock under sustained load. No bf16 tensor cores, no cp.async.',
    sources: [
      `tensorTflops.fp16 65 (full rate), tensorTflops.int8 130, tensorTflops.int4 260: T4 datasheet (geektopia summary) per ${REF}`,
      `smCount 40, boostClockMHz 1590, dramGBps 320, l2MiB 4: sysrqmts per ${REF}`,
      'tensorTflops.bf16 0: Turing has no bf16 tensor path; tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM75,
    ],
  }),
  target({
    id: 'a100', name: 'NVIDIA A100 SXM 80GB', arch: 'sm_80', smCount: 108, boostClockMHz: 1410,
    tensorTflops: { fp16: 312, bf16: 312, int8: 624, int4: 1248, fp4: null },
    dramGBps: 2039, l2MiB: 40, limits: CC80, mma4bit: ['int4.m16n8k64'],
    notes: 'A100 40 GB: 1555 GB/s; 80 GB PCIe: 1935 GB/s. Nunchaku shows no speedup over BF16 here (#64, #701, #899).',
    sources: [
      `tensorTflops.fp16 312, tensorTflops.bf16 312, tensorTflops.int8 624, tensorTflops.int4 1248, dramGBps 2039: A100 datasheet per ${REF}`,
      `smCount 108, boostClockMHz 1410, l2MiB 40: botcraftman per ${REF}`,
      'tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'rtx3090', name: 'NVIDIA GeForce RTX 3090', arch: 'sm_86', smCount: 82, boostClockMHz: 1695,
    tensorTflops: { fp16: 71, bf16: 71, int8: 284, int4: 568, fp4: null },
    dramGBps: 936, l2MiB: 6, limits: CC86, mma4bit: ['int4.m16n8k64'],
    notes: `${GEFORCE_HALF} (FP16-accumulate 142 TFLOPS).`,
    sources: [
      `smCount 82, boostClockMHz 1695, tensorTflops.fp16 71 (FP32 accumulate), tensorTflops.int8 284, tensorTflops.int4 568, dramGBps 936, l2MiB 6: GA102 whitepaper Appendix A per ${REF}`,
      `tensorTflops.bf16 71: equals the FP16 rate (${REF} convention: "FP16" = FP16/BF16 inputs with FP32 accumulation)`,
      'tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'a6000', name: 'NVIDIA RTX A6000', arch: 'sm_86', smCount: 84, boostClockMHz: 1800,
    tensorTflops: { fp16: 154.8, bf16: 154.8, int8: 309.7, int4: 619, fp4: null },
    dramGBps: 768, l2MiB: 6, limits: CC86, mma4bit: ['int4.m16n8k64'],
    sources: [
      `smCount 84, boostClockMHz 1800, tensorTflops.fp16 154.8 (full rate; the datasheet's 309.7 is sparse), tensorTflops.int8 309.7, dramGBps 768, l2MiB 6: GA102 whitepaper Appendix C and sysrqmts per ${REF}`,
      `tensorTflops.int4 619: derived in ${REF}`,
      `tensorTflops.bf16 154.8: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'a10', name: 'NVIDIA A10', arch: 'sm_86', smCount: 72, boostClockMHz: 1695,
    tensorTflops: { fp16: 125, bf16: 125, int8: 250, int4: 500, fp4: null },
    dramGBps: 600, l2MiB: 6, limits: CC86, mma4bit: ['int4.m16n8k64'],
    sources: [
      `tensorTflops.fp16 125, tensorTflops.int8 250, tensorTflops.int4 500: A10 datasheet (dense, per llm.c PR #621) per ${REF}`,
      `smCount 72, boostClockMHz 1695, dramGBps 600, l2MiB 6: sysrqmts per ${REF}`,
      `tensorTflops.bf16 125: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: no FP4 tensor cores before Blackwell',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'rtx4090', name: 'NVIDIA GeForce RTX 4090', arch: 'sm_89', smCount: 128, boostClockMHz: 2520,
    tensorTflops: { fp16: 165.2, bf16: 165.2, int8: 660.6, int4: 1321.2, fp4: null },
    dramGBps: 1008, l2MiB: 72, limits: CC89, mma4bit: ['int4.m16n8k64'],
    notes: `${GEFORCE_HALF} (FP16-accumulate 330.3 TFLOPS). FP8 330.3 TFLOPS with FP32 accumulation.`,
    sources: [
      `smCount 128, boostClockMHz 2520, tensorTflops.fp16 165.2 (FP32 accumulate), tensorTflops.int8 660.6, tensorTflops.int4 1321.2, dramGBps 1008, l2MiB 72: Ada whitepaper (replicated by waredb) per ${REF}`,
      `tensorTflops.bf16 165.2: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: Ada has FP8 but no FP4 tensor cores (cvt e2m1 is rejected for sm_89, nunchaku-kernels.md §4)',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'rtx4090-laptop', name: 'NVIDIA GeForce RTX 4090 Laptop GPU', arch: 'sm_89', smCount: 76, boostClockMHz: 1950,
    tensorTflops: { fp16: 76, bf16: 76, int8: 304, int4: 607, fp4: null },
    dramGBps: 576, l2MiB: 64, limits: CC89, mma4bit: ['int4.m16n8k64'],
    notes: 'AD103 laptop part; clocks range 1455–2040 MHz with the laptop’s TGP (80–150 W); rates assume ≈1950 MHz at 140 W and are UNCERTAIN per laptop. The SVDQuant paper’s "16 GB laptop 4090".',
    sources: [
      `smCount 76, boostClockMHz 1950 (≈ at 140 W TGP; UNCERTAIN, varies by laptop), dramGBps 576, l2MiB 64: hmc-tech (140 W SKU) per ${REF}`,
      `tensorTflops.fp16 76, tensorTflops.int8 304, tensorTflops.int4 607: derived in ${REF} (SMs × clock × per-SM rate)`,
      `tensorTflops.bf16 76: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: Ada has no FP4 tensor cores',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'l4', name: 'NVIDIA L4', arch: 'sm_89', smCount: 58, boostClockMHz: 2040,
    tensorTflops: { fp16: 121, bf16: 121, int8: 242.5, int4: 485, fp4: null },
    dramGBps: 300, l2MiB: 48, limits: CC89, mma4bit: ['int4.m16n8k64'],
    notes: '72 W part. Some databases list 60 SMs.',
    sources: [
      `smCount 58 (some databases say 60), boostClockMHz 2040, tensorTflops.fp16 121 (BF16 dense), tensorTflops.int8 242.5, dramGBps 300, l2MiB 48: L4 datasheet (yobitel summary) per ${REF}`,
      `tensorTflops.int4 485: derived in ${REF}`,
      `tensorTflops.bf16 121: datasheet BF16 figure per ${REF}`,
      'tensorTflops.fp4 null: Ada has no FP4 tensor cores',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'l40s', name: 'NVIDIA L40S', arch: 'sm_89', smCount: 142, boostClockMHz: 2520,
    tensorTflops: { fp16: 362, bf16: 362, int8: 733, int4: 1466, fp4: null },
    dramGBps: 864, l2MiB: 96, limits: CC89, mma4bit: ['int4.m16n8k64'],
    sources: [
      `smCount 142, boostClockMHz 2520, tensorTflops.fp16 362, tensorTflops.int8 733, dramGBps 864, l2MiB 96: L40S datasheet (mullet.se copy) per ${REF}`,
      `tensorTflops.int4 1466: derived in ${REF} (the datasheet's INT4 line is ambiguous)`,
      `tensorTflops.bf16 362: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: Ada has no FP4 tensor cores',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'rtx6000ada', name: 'NVIDIA RTX 6000 Ada Generation', arch: 'sm_89', smCount: 142, boostClockMHz: 2505,
    tensorTflops: { fp16: 364, bf16: 364, int8: 728, int4: 1457, fp4: null },
    dramGBps: 960, l2MiB: 96, limits: CC89, mma4bit: ['int4.m16n8k64'],
    sources: [
      `smCount 142, boostClockMHz 2505, dramGBps 960, l2MiB 96: RTX 6000 Ada datasheet per ${REF}`,
      `tensorTflops.fp16 364 (full rate), tensorTflops.int8 728, tensorTflops.int4 1457: derived in ${REF} (the datasheet's "1457 TFLOPS" is FP8 sparse)`,
      `tensorTflops.bf16 364: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.fp4 null: Ada has no FP4 tensor cores',
      MMA_SOURCE_INT4_SM80,
    ],
  }),
  target({
    id: 'h100', name: 'NVIDIA H100 SXM5', arch: 'sm_90', smCount: 132, boostClockMHz: 1830,
    tensorTflops: { fp16: 989.4, bf16: 989.4, int8: 1978.9, int4: null, fp4: null },
    dramGBps: 3350, l2MiB: 50, limits: CC90, mma4bit: [],
    notes:
      'No 4-bit tensor cores: the H100 whitepaper lists no INT4 rate and Nunchaku does not support Hopper (#381: "Hopper does not have 4-bit tensor cores"). INT4 mma.sync still compiles for sm_90, but whether it runs emulated or at some fraction of INT8 is unmeasured, so it is no fast path. Alternatives: W8A8 (INT8 or FP8 through wgmma) or W4A8 with the fused low-rank branch. H100 PCIe: 114 SMs, 756 TFLOPS FP16, 1513 INT8/FP8, 2000 GB/s.',
    sources: [
      `smCount 132, boostClockMHz 1830 (tensor clock; 1980 max), tensorTflops.fp16 989.4, tensorTflops.int8 1978.9, dramGBps 3350, l2MiB 50: H100 whitepaper (glennklockwood, hpctech) per ${REF}`,
      `tensorTflops.bf16 989.4: equals the FP16 rate (${REF} convention)`,
      'tensorTflops.int4 null, tensorTflops.fp4 null, mma4bit []: no INT4 or FP4 tensor rate on Hopper (models-gpus-users.md §3 "Questions about 4-bit tensor support"; nunchaku-kernels.md §4)',
    ],
  }),
  target({
    id: 'b200', name: 'NVIDIA B200 (HGX)', arch: 'sm_100a', smCount: 148, boostClockMHz: 1900,
    tensorTflops: { fp16: 2250, bf16: 2250, int8: 4500, int4: null, fp4: 9000 },
    dramGBps: 7700, l2MiB: 126, limits: CC100, mma4bit: [],
    notes:
      'No 4-bit mma.sync: Blackwell datacenter reaches FP4 only through tcgen05.mma block-scaled UMMA with tensor memory (TMEM); the sm_120a mma.sync kind::mxf4nvf4 does not exist on sm_100 (Nunchaku #849, CUTLASS #2908), and there is no INT4 rate. The fp4 rate is reachable only by a tcgen05 kernel family, which this generator does not emit yet. Alternatives: Triton kernels for SM_100/103 (xlite-dev/svdquant-kernels), a FlashInfer CuTe-DSL W4A4 kernel (vllm-omni #3830), or W8A8/FP8. SM count, clock and L2 are UNCERTAIN.',
    sources: [
      `smCount 148: derived from 18,944 cores in ${REF} (UNCERTAIN)`,
      `boostClockMHz 1900: "≈1.9 GHz" in ${REF} (UNCERTAIN)`,
      `tensorTflops.fp16 2250, tensorTflops.int8 4500, tensorTflops.fp4 9000: dense values (glennklockwood) against the HGX B200 sparse table (zdszero copy) per ${REF}`,
      `tensorTflops.bf16 2250: equals the FP16 rate (${REF} convention)`,
      `dramGBps 7700: lower end of 7700–8000 in ${REF}`,
      `l2MiB 126: "~126, or 2 × ~48–63" in ${REF} (UNCERTAIN)`,
      'tensorTflops.int4 null, mma4bit []: no INT4 on B200 and no block-scaled FP4 mma.sync on sm_100a (ptx-fragments.md §4.2, §8; models-gpus-users.md §3)',
    ],
  }),
  target({
    id: 'rtx5090', name: 'NVIDIA GeForce RTX 5090', arch: 'sm_120a', smCount: 170, boostClockMHz: 2407,
    tensorTflops: { fp16: 209.5, bf16: 209.5, int8: 838, int4: null, fp4: 1676 },
    dramGBps: 1792, l2MiB: 96, limits: CC120, mma4bit: ['fp4.mxf4nvf4.4x.ue4m3', 'fp4.mxf4.2x.ue8m0'],
    notes: `${GEFORCE_HALF} (FP16-accumulate 419 TFLOPS). No INT4 rate is listed for GB202: use NVFP4 or MXFP4. FP4 peak is only 1.27× the 4090's INT4 peak, but bandwidth is 1.78× higher.`,
    sources: [
      `smCount 170, boostClockMHz 2407, tensorTflops.fp16 209.5 (dense, FP32 accumulate), tensorTflops.int8 838, tensorTflops.fp4 1676 ("3352 AI TOPS" is FP4 sparse), dramGBps 1792, l2MiB 96: RTX Blackwell spec (spheron, pocketmags, codesota) per ${REF}`,
      `tensorTflops.bf16 209.5: equals the FP16 rate (${REF} convention)`,
      `tensorTflops.int4 null: "not listed" for GB202 in ${REF}`,
      MMA_SOURCE_FP4_SM120,
    ],
  }),
  target({
    id: 'rtxpro6000', name: 'NVIDIA RTX PRO 6000 Blackwell Workstation Edition', arch: 'sm_120a', smCount: 188, boostClockMHz: 2617,
    tensorTflops: { fp16: 500, bf16: 500, int8: 1000, int4: null, fp4: 2000 },
    dramGBps: 1792, l2MiB: 128, limits: CC120, mma4bit: ['fp4.mxf4nvf4.4x.ue4m3', 'fp4.mxf4.2x.ue8m0'],
    notes: 'Max-Q variant clocks lower. Rates are approximate (full-rate FP32 accumulation inferred from a measured 375 TFLOPS BF16 GEMM, diffusers PR #14100). No INT4 rate listed.',
    sources: [
      `smCount 188, boostClockMHz 2617 (≈; Max-Q lower), l2MiB 128: NVIDIA launch specs via videocardz/ferreiradozezere per ${REF}`,
      `tensorTflops.fp16 500 (≈, full rate inferred, UNCERTAIN), tensorTflops.int8 1000 (≈), tensorTflops.fp4 2000 (≈; "4000 AI TOPS" sparse): ${REF}`,
      `tensorTflops.bf16 500: equals the FP16 rate (${REF} convention)`,
      `dramGBps 1792: ${REF}`,
      `tensorTflops.int4 null: not listed for GB202 in ${REF}`,
      MMA_SOURCE_FP4_SM120,
    ],
  }),
];

/** The target an arch name stands for: the most common card of that arch among Nunchaku's users. */
export const DEFAULT_TARGET_FOR_ARCH: Readonly<Partial<Record<SmArch, string>>> = {
  sm_75: 't4', // Colab/Kaggle/cloud Turing is far more common than the 2080 Ti; also the lower bound
  sm_80: 'a100',
  sm_86: 'rtx3090',
  sm_89: 'rtx4090',
  sm_90: 'h100',
  sm_100a: 'b200',
  sm_120a: 'rtx5090',
};

/** Resolves `--gpu`: a target id ('l40s'), an arch ('sm_89', 'sm89', '89', '8.9', 'sm_120') → its default. */
export function resolveGpu(arg: string): Target {
  const s = String(arg).trim().toLowerCase();
  const byId = TARGETS.find((t) => t.id === s || t.id.replace(/-/g, '') === s.replace(/[-_ ]/g, ''));
  if (byId) return byId;
  const m = /^(?:sm_?|compute_?)?(\d+)\.?(\d)?(a|f)?$/.exec(s);
  if (m) {
    const digits = m[2] !== undefined ? `${m[1]}${m[2]}` : m[1];
    const arch = (['100', '120', '121'].includes(digits) ? `sm_${digits}a` : `sm_${digits}`) as SmArch;
    const id = DEFAULT_TARGET_FOR_ARCH[arch];
    if (id) return TARGETS.find((t) => t.id === id)!;
  }
  const archs = Object.entries(DEFAULT_TARGET_FOR_ARCH).map(([a, id]) => `${a} (→ ${id})`);
  throw new UserError(`--gpu: ${JSON.stringify(arg)} is not a known GPU; allowed: ${TARGETS.map((t) => t.id).join(', ')}, or an arch: ${archs.join(', ')}`);
}

export function targetById(id: string): Target | undefined {
  return TARGETS.find((t) => t.id === id);
}

/** True when the GPU has a native 4-bit MMA fast path this generator can use. */
export function supports4Bit(t: Target): boolean {
  return t.mma4bit.length > 0;
}

/** MMA instructions that can run a format on this GPU (empty = the format has no fast path here). */
export function mmaFor(t: Target, kind: FormatKind): Mma4Bit[] {
  const want: Record<FormatKind, Mma4Bit[]> = {
    int4: ['int4.m16n8k64', 'int4.m8n8k32'],
    nvfp4: ['fp4.mxf4nvf4.4x.ue4m3'],
    mxfp4: ['fp4.mxf4.2x.ue8m0'],
  };
  return t.mma4bit.filter((m) => want[kind].includes(m));
}

export function supportsFormat(t: Target, kind: FormatKind): boolean {
  return mmaFor(t, kind).length > 0;
}

/** bf16 tensor cores (m16n8k16 bf16) exist from sm_80 on. */
export function supportsBf16(t: Target): boolean {
  return t.arch !== 'sm_75';
}

/** cp.async (shared-memory staging) exists from sm_80 on. */
export function hasCpAsync(t: Target): boolean {
  return t.arch !== 'sm_75';
}

/** The 4-bit format a target runs by default: INT4 where it has INT4 MMAs, else NVFP4; none → undefined. */
export function defaultFormatKind(t: Target): FormatKind | undefined {
  if (supportsFormat(t, 'int4')) return 'int4';
  if (supportsFormat(t, 'nvfp4')) return 'nvfp4';
  return undefined;
}

/** nvcc -gencode flag for the target (ptx-fragments.md §8: explicit -gencode, 'a' forms where needed). */
export function gencodeFlag(arch: SmArch): string {
  const n = arch.slice(3);
  return `-gencode=arch=compute_${n},code=sm_${n}`;
}

// ─── Issue model (owned by `inspect`, codegen/inspect/predict.ts) ──────────────────────────────────────
// Per SM sub-partition: one instruction issued per cycle; the tensor pipe's cycles per m16n8k64 4-bit MMA
// derive from the target's dense rate; the other pipes' rates (lanes per SM per cycle) from the CUDA C++
// Programming Guide's arithmetic-instruction throughput table. What the table does not give is marked
// "assumed". Everything computed from this block is a prediction, never a measured time.

export type IssuePipe = 'fp32' | 'int' | 'conv' | 'mufu' | 'lsu' | 'fp16x2';
export const ISSUE_PIPES: readonly IssuePipe[] = ['fp32', 'int', 'conv', 'mufu', 'lsu', 'fp16x2'];

export interface IssueModel {
  /** Warp schedulers (sub-partitions) per SM. */
  subPartitions: number;
  /** Warp instructions one sub-partition issues per cycle. */
  issuePerCycle: number;
  /** Lanes (thread-instructions) per SM per cycle of each pipe: a warp instruction takes 32 / (rate / subPartitions) cycles. */
  pipeRates: Record<IssuePipe, number>;
  sources: string[];
}

const GUIDE = 'CUDA C++ Programming Guide, "Arithmetic Instructions" throughput table (per SM per clock)';
const ISSUE_SRC = 'subPartitions 4, issuePerCycle 1: sass-inspection.md issue model (4 sub-partitions per SM on sm_75…sm_120, one instruction per cycle each)';
const LSU_ASSUMED = 'pipeRates.lsu 32 (one memory warp-instruction per SM per cycle): assumed, not in the guide’s table';
const FP16X2_ASSUMED = 'pipeRates.fp16x2: assumed = the FP32 lane rate (the guide lists 16-bit results; a half2 lane makes two), not measured';

function issueModel(cc: string, fp32: number, extra: string[] = []): IssueModel {
  return {
    subPartitions: 4,
    issuePerCycle: 1,
    pipeRates: { fp32, int: 64, conv: 16, mufu: 16, lsu: 32, fp16x2: fp32 },
    sources: [
      ISSUE_SRC,
      `pipeRates.fp32 ${fp32}, pipeRates.int 64 (32-bit add/logic and multiply-add), pipeRates.conv 16 (32-bit int ↔ float), pipeRates.mufu 16: ${GUIDE}, CC ${cc} (via sass-inspection.md for 8.6/8.9)`,
      LSU_ASSUMED,
      FP16X2_ASSUMED,
      'pipeRates.conv applies to I2FP (sm_86+) too: assumed — the guide’s table does not list I2FP; sass-inspection.md says "unknown until measured"',
      ...extra,
    ],
  };
}

/** Issue model per arch; sm_120a/121a and sm_100a reuse 8.9's pipe rates (assumed). */
export const ISSUE_MODELS: Readonly<Partial<Record<SmArch, IssueModel>>> = {
  sm_75: issueModel('7.5', 64),
  sm_80: issueModel('8.0', 64),
  sm_86: issueModel('8.6', 128),
  sm_89: issueModel('8.9', 128),
  sm_90: issueModel('9.0', 128),
  sm_100a: issueModel('10.0', 128, ['pipeRates (sm_100a): assumed equal to CC 8.9']),
  sm_120a: issueModel('12.0', 128, ['pipeRates (sm_120a): assumed equal to CC 8.9']),
  sm_121a: issueModel('12.1', 128, ['pipeRates (sm_121a): assumed equal to CC 8.9']),
};

/**
 * Tensor-pipe cycles of one m16n8k64 4-bit MMA on one sub-partition: 16384 ops / (dense ops per SM per
 * cycle / sub-partitions), with ops per SM per cycle = rate / (SMs × clock). The rate is the int4 one;
 * FP4-only GPUs use fp4; sm_90 (no 4-bit tensor cores) the int8 one, because its s4 MMAs run as s8.
 */
export function tensorCyclesPerMma(t: Target, model: IssueModel = ISSUE_MODELS[t.arch] ?? issueModel('?', 128)): { cycles: number; rate: string; source: string } {
  const rate = t.tensorTflops.int4 !== null ? 'int4' : t.tensorTflops.fp4 !== null ? 'fp4' : 'int8';
  const tops = t.tensorTflops[rate] as number;
  const opsPerSmCycle = (tops * 1e12) / (t.smCount * t.boostClockMHz * 1e6);
  const cycles = 16384 / (opsPerSmCycle / model.subPartitions);
  return {
    cycles,
    rate,
    source: `tensorCyclesPerMma: 16384 / (${tops} T${rate === 'fp4' ? 'FLOPS' : 'OPS'} (${rate}) / ${t.smCount} SMs / ${t.boostClockMHz} MHz / ${model.subPartitions}) (sass-inspection.md issue model)${rate === 'int8' ? '; int8 rate: no 4-bit tensor path, s4 MMAs run as IMMA.16832.S8.S8' : ''}`,
  };
}
// ─── end of the issue model ───────────────────────────────────────────────────────────────────────────
