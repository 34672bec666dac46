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
 * is inside), K steps of 64 and 128, up to 8 warps. Turing (sm_75) has no cp.async, so only register
 * staging and 1–2 stages. sm_120a/121a run e2m1 formats whose block-scaled MMAs accumulate in f32, so
 * the f16 cross-group accumulation knob is dropped there.
 */
export function defaultSearchSpace(arch: SmArch): SearchSpace {
  if (!ARCHS.includes(arch)) throw new UserError(`arch: ${JSON.stringify(arch)} is not a known arch; allowed: ${ARCHS.join(', ')}`);
  const turing = arch === 'sm_75';
  const fp4Only = arch === 'sm_120a' || arch === 'sm_121a';
  return {
    gemm: {
      blockM: [32, 64, 128, 256],
      blockN: [32, 64, 128, 256],
      blockK: [64, 128],
      warpsM: [1, 2, 4, 8],
      warpsN: [1, 2, 4],
      stages: turing ? [1, 2] : [1, 2, 3, 4],
      staging: turing ? ['reg'] : ['reg', 'smem'],
      accum: fp4Only ? ['f32'] : ['f32', 'f16'],
    },
    act: { blockM: [...ACT_SPACE.blockM], blockK: [...ACT_SPACE.blockK], warps: [...ACT_SPACE.warps] },
  };
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

/** Structurally valid GEMM tiles of the space (for `spec`'s format when given). */
export function* enumerateGemmTiles(space: SearchSpace, spec?: KernelSpec): Generator<GemmTile> {
  for (const t of cartesian<GemmTile>(space.gemm)) if (!gemmTileIssue(t, spec)) yield t;
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
