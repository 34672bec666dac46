// The bytes a planned GEMM really moves for one shape, instruction by instruction as the device code
// issues them (runtime/include/svdq/gemm/**, epilogue/**): the tuner's cost model reads it and the
// emulator's traffic counters check it. Loads predicated off (shared-memory staging: tiles past M, N or K;
// register staging: steps past K) move nothing;
// MMAs run for every tile of every launched warp.
import type { GemmPlan } from './gemm.js';

export interface GemmTraffic {
  /** Bytes requested by global loads, summed over lanes (each lane's request counted). */
  globalBytesLoaded: number;
  /** Bytes written by global stores, summed over lanes. */
  globalBytesStored: number;
  /** Compulsory bytes: every input read once, every output written once (the DRAM floor). */
  compulsoryBytes: number;
  /** 4-bit 16×8×64 MMA tiles (warp-level): one m16n8k64 instruction each, or four m8n8k32 on sm_75. */
  mmaCount: number;
  /** The emulator's counter name of the main loop's 4-bit instruction and how many warp-level ones run. */
  mmaInstruction: string;
  mmaInstructions: number;
  /** 16-bit mma.sync m16n8k16 instructions of the low-rank branches (warp-level). */
  mma16Count: number;
  blocks: number;
}

const ceil = (a: number, b: number): number => Math.ceil(a / b);
/** Sum over every warp position along one axis of the tiles it owns inside `total`. */
function validTilesPerAxis(grid: number, warps: number, perWarp: number, total: number): { sum: number; warpsWithAny: number } {
  let sum = 0;
  let warpsWithAny = 0;
  for (let b = 0; b < grid; b++)
    for (let w = 0; w < warps; w++) {
      const first = (b * warps + w) * perWarp;
      const n = Math.max(0, Math.min(perWarp, total - first));
      sum += n;
      if (n > 0) warpsWithAny++;
    }
  return { sum, warpsWithAny };
}

/** `slices`: lora_act slices S the low-rank epilogue sums (1 unless a qnext producer wrote several). */
export function gemmTraffic(plan: GemmPlan, shape: { m: number; n: number; k: number; slices?: number }): GemmTraffic {
  const { m, n, k } = shape;
  const slices = shape.slices ?? 1;
  const t = plan.tile;
  const g = plan.group;
  const fmt = plan.spec.format;
  const fp4Bytes = fmt.kind === 'nvfp4' ? 4 : fmt.kind === 'mxfp4' ? 2 : 0; // scale bytes per row and k64 slice
  const sps = g === 32 && !fp4Bytes ? 2 : 1;
  // Scale bytes per 16-row (or column) tile and k64 step: the compulsory chunk, and what 32 lanes request
  // (INT4: 4-byte A pairs, 8-byte B quads per group; FP4: A one word per lane, B two per lane).
  const scaleChunk = fp4Bytes ? 16 * fp4Bytes : 32 * sps;
  const aScaleLanes = fp4Bytes ? 32 * fp4Bytes : sps * 32 * 4;
  const bScaleLanes = fp4Bytes ? 32 * 2 * fp4Bytes : sps * 32 * 8;
  const k64 = k / 64;
  const mtiles = ceil(m, 16);
  const ntiles = n / 16;
  const gridM = ceil(m, t.blockM);
  const gridN = ceil(n, t.blockN);
  const wtm = plan.warpTileM / 16;
  const wtn = plan.warpTileN / 16;
  const warps = t.warpsM * t.warpsN;
  // Valid tiles summed over the warps of one axis (each warp of the other axis repeats them).
  const mAxis = validTilesPerAxis(gridM, t.warpsM, wtm, mtiles);
  const nAxis = validTilesPerAxis(gridN, t.warpsN, wtn, ntiles);
  const mRep = gridN * t.warpsN; // warps sharing an M position
  const nRep = gridM * t.warpsM;
  let loaded = 0;
  let stored = 0;
  // Main loop.
  if (t.staging === 'reg') {
    // Every launched warp loads all its tiles: tiles past M or N re-read the last real one (gemm/operands.h).
    loaded += k64 * gridM * t.warpsM * wtm * mRep * (512 + aScaleLanes);
    loaded += k64 * gridN * t.warpsN * wtn * nRep * (512 + bScaleLanes);
  } else {
    loaded += k64 * mtiles * gridN * (512 + scaleChunk);
    loaded += k64 * ntiles * gridM * (512 + scaleChunk);
  }
  const mma = gridM * gridN * warps * k64 * wtm * wtn * 2 * sps;
  const act = plan.spec.activation.unsigned ? 'u4' : 's4';
  const mmaInstruction = { Int4: `mma.m16n8k64.${act}.s4`, Int4Turing: `mma.m8n8k32.${act}.s4`, Nvf4: 'mma.m16n8k64.mxf4nvf4.4X.ue4m3', Mxf4: 'mma.m16n8k64.mxf4.2X.ue8m0' }[plan.mma];
  let mma16 = 0;
  const steps = new Set(plan.epilogue.map((s) => s.op));
  if (steps.has('bias')) loaded += nAxis.sum * nRep * 256;
  if (steps.has('lowrank')) {
    const r16 = plan.rank / 16;
    const launchedWarps = gridM * gridN * warps;
    loaded += r16 * launchedWarps * 32 * 4; // lora_scales
    // lora_act (every slice) and lora_up, read by every warp for its own tiles (lowrank/up.h); tiles past
    // M/N read nothing.
    loaded += slices * r16 * mAxis.sum * mRep * 1024;
    loaded += r16 * nAxis.sum * nRep * 512;
    mma16 += launchedWarps * r16 * wtm * wtn * 2;
  }
  if (steps.has('store')) stored += m * n * 2;
  if (plan.next) {
    const nx = plan.next;
    const unitTiles = nx.unit / 16;
    loaded += (nAxis.sum / unitTiles) * nRep * unitTiles * 256; // smooth, per valid unit
    stored += mtiles * (n / 64) * 512; // next_aq
    const nextFp4 = plan.spec.epilogue.some((o) => o.op === 'qnext' && o.format.kind !== 'int4');
    stored += mtiles * (n / nx.group) * (nextFp4 ? 16 : 32); // next_ascales: 16 rows × (1 byte FP4 | 2 bytes INT4) per group
    if (nx.rank > 0) {
      const r16 = nx.rank / 16;
      loaded += r16 * nAxis.sum * nRep * 512; // next lora_down, per valid column tile
      stored += gridN * mtiles * r16 * 1024; // one slice per N-block
      mma16 += r16 * nAxis.sum * nRep * wtm * 2;
    }
  }
  const compulsory =
    mtiles * k64 * (512 + scaleChunk) + ntiles * k64 * (512 + scaleChunk) +
    (steps.has('bias') ? n * 2 : 0) +
    (steps.has('lowrank') ? slices * mtiles * (plan.rank / 16) * 1024 + ntiles * (plan.rank / 16) * 512 : 0) +
    stored;
  return { globalBytesLoaded: loaded, globalBytesStored: stored, compulsoryBytes: compulsory, mmaCount: mma, mmaInstruction, mmaInstructions: plan.mma === 'Int4Turing' ? 4 * mma : mma, mma16Count: mma16, blocks: gridM * gridN };
}
