// The vocabulary shared by every stage: what a layer's kernels compute (KernelSpec), how they are
// tiled (GemmTile, ActTile), where they run (Target) and which shapes a model needs (ModelCatalog).
// Builders in dsl/ produce these; codegen/, tuner/ and runtime/ consume them. Plain data only.

export type Dtype16 = 'fp16' | 'bf16';

/** INT4: s4 weights; activations s4, or u4 with an additive shift (used after GELU). */
export interface Int4Format {
  kind: 'int4';
  group: 32 | 64 | 128;
  scaleDtype: Dtype16;
}
/** NVFP4: e2m1 codes, groups of 16, ue4m3 micro-scales, one fp32 per-tensor scale. */
export interface Nvfp4Format {
  kind: 'nvfp4';
  group: 16;
  scaleDtype: 'ue4m3';
}
/** MXFP4: e2m1 codes, groups of 32, ue8m0 scales. */
export interface Mxfp4Format {
  kind: 'mxfp4';
  group: 32;
  scaleDtype: 'ue8m0';
}
export type QuantFormat = Int4Format | Nvfp4Format | Mxfp4Format;
export type FormatKind = QuantFormat['kind'];

/** How activations are coded. `unsigned` (u4 + shift) exists only for int4. */
export interface ActivationCoding {
  unsigned: boolean;
  /** Added before smoothing and quantization; 0 for signed codes (Nunchaku uses 0.171875 after GELU). */
  shift: number;
}

/** The 16-bit low-rank branch: rank a multiple of 16 in [0, 1024]; one scale per 16 ranks at run time. */
export interface LowRank {
  rank: number;
}

export type EpilogueOp =
  | { op: 'cscale' } // y · wcscales[n] (per-channel output scale of the 4-bit product, before bias)
  | { op: 'bias' }
  | { op: 'lowrank' } // + (X·L1)·L2 with per-16-rank scales, rank from KernelSpec.lowRank
  | { op: 'silu' }
  | { op: 'gelu' } // tanh form
  | {
      op: 'qnext';
      /** The next layer's format and activation coding; its smoothing vector is a run-time input. */
      format: QuantFormat;
      activation: ActivationCoding;
      /** The next layer's low-rank down projection fused here (rank 0 = none). */
      lowRankDown: LowRank;
      /** Also write the 16-bit output Y (otherwise only the quantized codes/scales are written). */
      keepOutput: boolean;
    };
export type EpilogueName = EpilogueOp['op'];

/** What one SVDQuant layer's two kernels (activation quantizer + GEMM) compute. N and K are run-time. */
export interface KernelSpec {
  /** Optional human label, e.g. the layer name; not part of the kernel's identity. */
  label?: string;
  format: QuantFormat;
  activation: ActivationCoding;
  /** dtype of X, Y, the low-rank weights, bias and smoothing. */
  dtype: Dtype16;
  lowRank: LowRank;
  /** Ordered chain; allowed order: cscale → bias → lowrank → (silu|gelu) → qnext. */
  epilogue: EpilogueOp[];
}

/** The GEMM's tile configuration: every field is a tuning knob. */
export interface GemmTile {
  blockM: number;
  blockN: number;
  /** K consumed per main-loop step; a multiple of 64 (the 4-bit MMA's K). */
  blockK: number;
  warpsM: number;
  warpsN: number;
  /** Pipeline depth (register double-buffering when staging = 'reg', cp.async stages when 'smem'). */
  stages: number;
  /** Operands straight from global memory into registers, or through shared memory with cp.async. */
  staging: 'reg' | 'smem';
  /** Precision of the cross-group accumulation (f16 is faster, less accurate, opt-in). */
  accum: 'f32' | 'f16';
}

/** The activation (quantize + low-rank down) kernel's configuration. */
export interface ActTile {
  /** Rows of X per block. */
  blockM: number;
  /** Columns of X (channels) per block; the K dimension of the GEMM that follows. */
  blockK: number;
  warps: number;
}

/** Candidate values per knob; the tuner enumerates the cartesian product and prunes it. */
export interface SearchSpace {
  gemm: { [F in keyof GemmTile]: GemmTile[F][] };
  act: { [F in keyof ActTile]: ActTile[F][] };
}

export type SmArch = 'sm_75' | 'sm_80' | 'sm_86' | 'sm_89' | 'sm_90' | 'sm_100a' | 'sm_120a' | 'sm_121a';

export type Mma4Bit =
  | 'int4.m16n8k64' // mma.sync m16n8k64 s4/u4 (sm_80+)
  | 'int4.m8n8k32' // mma.sync m8n8k32 s4/u4 (sm_75)
  | 'fp4.mxf4nvf4.4x.ue4m3' // NVFP4 block-scaled mma.sync (sm_120a/121a)
  | 'fp4.mxf4.2x.ue8m0'; // MXFP4 block-scaled mma.sync (sm_120a/121a)

/** Facts about one GPU. Every number carries a source in `sources`. */
export interface Target {
  id: string; // e.g. 'rtx4090'
  name: string; // e.g. 'NVIDIA GeForce RTX 4090'
  arch: SmArch;
  smCount: number;
  boostClockMHz: number;
  /** Dense tensor-core throughput in TFLOPS (TOPS for integers); null = no such tensor path. */
  tensorTflops: { fp16: number; bf16: number; int8: number; int4: number | null; fp4: number | null };
  dramGBps: number;
  l2MiB: number;
  smemPerSmKiB: number;
  smemPerBlockKiB: number;
  regsPerSm: number;
  maxRegsPerThread: number;
  maxThreadsPerSm: number;
  maxBlocksPerSm: number;
  /** 4-bit MMA instructions with a native fast path on this GPU (empty = no 4-bit tensor cores). */
  mma4bit: Mma4Bit[];
  /** Free-text notes shown to users (e.g. why there is no 4-bit path). */
  notes?: string;
  sources: string[];
}

/** One distinct linear layer of a model, K = in_features, N = out_features. */
export interface LayerShape {
  name: string;
  n: number;
  k: number;
  /** How many times this layer runs per forward pass (blocks × occurrences). */
  countPerForward: number;
  /** Which token stream feeds it (decides M). */
  tokens: 'image' | 'text' | 'joint' | 'pooled';
  /** True when the reference engine keeps it in 16 bits (not a 4-bit kernel). */
  stays16bit: boolean;
  /** Epilogue the layer uses in the reference engine (e.g. fc1 → gelu → qnext). */
  epilogue: EpilogueName[];
  /** (added) What runs it: our W4A4 kernels, an AWQ W4A16 GEMV (M = batch), or a 16-bit GEMM. */
  kind?: LayerKind;
  /** (added) M = tokens[stream] / tokenDivisor (SDXL's C = 1280 level runs at (H/32)², a quarter of (H/16)²). */
  tokenDivisor?: number;
  /** (added) Name of the layer whose qnext epilogue quantizes this layer's input (fc1 → fc2). */
  inputFrom?: string;
  /** (added) Caveat shown to users (e.g. "PAG layers only", "UNCERTAIN whether quantized"). */
  note?: string;
}

/** (added) W4A4 = this project's kernels; W4A16 = AWQ GEMV (not ours); fp16 = left in 16 bits. */
export type LayerKind = 'w4a4' | 'w4a16' | 'fp16';

export interface TokenCounts {
  image: number;
  text: number;
  joint: number;
  pooled: number;
}

export interface ModelCatalog {
  id: string; // e.g. 'flux.1-dev'
  name: string;
  defaultResolution: number;
  defaultRank: number;
  layers: LayerShape[];
  /** Token counts (M per layer stream) for a square resolution in pixels and a batch size. */
  tokens(resolution: number, batch: number, textTokens?: number): TokenCounts;
  sources: string[];
  /** (added) Typical batch per forward (CFG folded in), from models-gpus-users.md §1.9. */
  defaultBatch?: number;
  /** (added) Text tokens assumed when none are given. */
  defaultTextTokens?: number;
  /** (added) Pixels per latent token side (16 or 32); resolutions must be multiples of it. */
  pixelsPerToken?: number;
  /** (added) Low-rank ranks shipped for this model (models-gpus-users.md §2). */
  shippedRanks?: number[];
}
