// Tile search spaces per arch family and their enumeration. A space lists candidate values per knob
// (types.ts SearchSpace); enumeration walks the cartesian product and keeps only structurally valid
// tiles (tiles.ts). Budgets (shared memory, registers, occupancy) are pruned later by the tuner.
import { UserError } from './errors.js';
import { actTileIssue, gemmTileIssue } from './tiles.js';
import type { ActTile, GemmTile, KernelSpec, SearchSpace, SmArch } from './types.js';

const ARCHS: readonly SmArch[] = ['sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_90', 'sm_100a', 'sm_120a', 'sm_121a'];

const ACT_SPACE: SearchSpace['act'] = { blockM: [32, 64, 128, 256], blockK: [64, 128, 256], warps: [1, 2, 4, 8] };

/**
 * A realistic space for the tuner. All families: blocks 32–256 on M and N (Nunchaku's fixed 256×128
 * is inside), up to 8 warps, k-blocks of two k64 steps (blockK 256 adds ~2 integer instructions per
 * MMA from the longer unrolled ring, blockK 64 a barrier per step or, on Turing, the per-step overhead
 * twice). sm_80 and newer stage operands through a cp.async ring; register staging is left to Turing (sm_75, no
 * cp.async; 1–2 stages), where it is the only choice: on sm_80+ it needs ~1.5× the registers for the
 * same warp tile and more main-loop instructions (gemm/README.md). A ring has 2–4 stages (one stage
 * would need two barriers per k-block). sm_120a/121a run e2m1 formats whose block-scaled MMAs
 * accumulate in f32, and Turing has no cvt.rn.f16x2.f32 (f16 accumulation costs ~23 instructions per
 * m16n8k64 there), so the f16 cross-group accumulation knob is dropped on both.
 * enumerateGemmTiles also drops tiles efficientGemmTileIssue names.
 */
export function defaultSearchSpace(arch: SmArch): SearchSpace {
  if (!ARCHS.includes(arch)) throw new UserError(`arch: ${JSON.stringify(arch)} is not a known arch; allowed: ${ARCHS.join(', ')}`);
  const turing = arch === 'sm_75';
  const fp4Only = arch === 'sm_120a' || arch === 'sm_121a';
  return {
    gemm: {
      // cp.async rings: blocks of 64+ rows and columns (a 32-wide block's copy slots cost up to +0.4 per MMA)
      blockM: turing ? [32, 64, 128, 256] : [64, 128, 256],
      blockN: turing ? [32, 64, 128, 256] : [64, 128, 256],
      blockK: [128],
      warpsM: [1, 2, 4, 8],
      warpsN: [1, 2, 4],
      stages: turing ? [1, 2] : [2, 3, 4],
      staging: turing ? ['reg'] : ['smem'],
      accum: fp4Only || turing ? ['f32'] : ['f32', 'f16'],
    },
    act: { blockM: [...ACT_SPACE.blockM], blockK: [...ACT_SPACE.blockK], warps: [...ACT_SPACE.warps] },
  };
}

/**
 * Why a structurally valid tile is left out of the search space: the main loop's budget (14 instructions
 * per m16n8k64 with fp32 accumulation, 12 with f16, 16 on Turing; test/kernels/gemm-budget.test.ts) is
 * met only when each warp's scale loads and widenings are shared by at least two 16-row and two 16-column
 * tiles (warp tile ≥ 32×32; ≥ 32×64 for f16 accumulation or register staging), and a cp.async ring needs at least four warps to spread a k-block's 16-byte copies
 * (fewer threads hold too many copy slots in registers). Such tiles can still be given explicitly.
 */
export function efficientGemmTileIssue(t: GemmTile): string | undefined {
  const wm = t.blockM / t.warpsM, wn = t.blockN / t.warpsN;
  if (wm < 32 || wn < 32) return `warp tile ${wm}×${wn} is under 32 rows or 32 columns`;
  // f16 accumulation (budget 12) and register staging (its ring moves; Turing's budget 16) need the
  // per-tile overheads shared by twice as many tiles: 32×64 or 64×32 and up.
  if ((t.accum === 'f16' || t.staging === 'reg') && wm * wn < 2048) return `warp tile ${wm}×${wn} is under 32×64 for ${t.accum === 'f16' ? 'f16 accumulation' : 'register staging'}`;
  if (t.staging === 'smem' && t.warpsM * t.warpsN < 4) return `${t.warpsM * t.warpsN} warps are too few for a cp.async ring (at least 4)`;
  // f16 accumulation's 12-instruction budget leaves ~1.5 per MMA for copies, addresses and moves: the
  // ring's copy work has to be spread over 8 warps.
  if (t.accum === 'f16' && t.staging === 'smem' && t.warpsM * t.warpsN < 8) return `${t.warpsM * t.warpsN} warps are too few for f16 accumulation from a cp.async ring (8)`;
  return undefined;
}

/** Every combination of the knobs, in order (first knob varies slowest). */
export function* cartesian<T extends object>(knobs: { [K in keyof T]: readonly T[K][] }): Generator<T> {
  const keys = Object.keys(knobs) as (keyof T)[];
  const idx = keys.map(() => 0);
  if (keys.some((k) => knobs[k].length === 0)) return;
  for (;;) {
    const point = {} as T;
    keys.forEach((k, i) => (point[k] = knobs[k][idx[i]]));
    yield point;
    let i = keys.length - 1;
    while (i >= 0 && ++idx[i] === knobs[keys[i]].length) idx[i--] = 0;
    if (i < 0) return;
  }
}

/** Structurally valid GEMM tiles of the space (for `spec`'s format when given) that meet efficientGemmTileIssue. */
export function* enumerateGemmTiles(space: SearchSpace, spec?: KernelSpec): Generator<GemmTile> {
  for (const t of cartesian<GemmTile>(space.gemm)) if (!gemmTileIssue(t, spec) && !efficientGemmTileIssue(t)) yield t;
}

/** Structurally valid activation-kernel tiles of the space. */
export function* enumerateActTiles(space: SearchSpace, spec?: KernelSpec): Generator<ActTile> {
  for (const t of cartesian<ActTile>(space.act)) if (!actTileIssue(t, spec)) yield t;
}

export type SpacePoint = { kernel: 'gemm'; tile: GemmTile } | { kernel: 'act'; tile: ActTile };

/** Both kernels' valid tiles, GEMM first; the two kernels are tuned independently. */
export function* enumerateSpace(space: SearchSpace, spec?: KernelSpec): Generator<SpacePoint> {
  for (const tile of enumerateGemmTiles(space, spec)) yield { kernel: 'gemm', tile };
  for (const tile of enumerateActTiles(space, spec)) yield { kernel: 'act', tile };
}

/** Raw cartesian sizes, before any validation. */
export function spaceSize(space: SearchSpace): { gemm: number; act: number } {
  const prod = (o: Record<string, readonly unknown[]>) => Object.values(o).reduce((n, v) => n * v.length, 1);
  return { gemm: prod(space.gemm), act: prod(space.act) };
}
