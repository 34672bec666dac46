// The untuned tile configuration of a layer on a target: what `gen` renders into generated/, what `run`
// and `verify` use without --config, and the baseline a tuned choice must beat. The first candidate
// the planner accepts wins; the list runs from Nunchaku-sized tiles (128×128, 8 warps, cp.async ring)
// down to small ones, so every spec the planner can generate has a default. cp.async tiles take k-blocks
// of two k64 steps (one block barrier per two steps, gemm/mainloop.h).
import { actTileProblems } from './plan/act.js';
import { gemmTileProblems } from './plan/gemm.js';
import { UserError } from '../dsl/errors.js';
import type { ActTile, GemmTile, KernelSpec, Target } from '../dsl/types.js';

const GEMM_CANDIDATES: readonly GemmTile[] = [
  { blockM: 128, blockN: 128, blockK: 128, warpsM: 2, warpsN: 4, stages: 2, staging: 'smem', accum: 'f32' },
  // qnext needs warp tiles 64 wide in N (one quantization unit per warp)
  { blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 128, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 64, blockK: 128, warpsM: 2, warpsN: 1, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 128, blockN: 64, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 64, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  // register staging (sm_75 has no cp.async): a qnext-capable 64×128 tile first, then smaller ones
  // (two k64 steps per stage: Turing's main loop within 16 instructions per m16n8k64, 0 spills)
  { blockM: 64, blockN: 128, blockK: 128, warpsM: 2, warpsN: 2, stages: 1, staging: 'reg', accum: 'f32' },
  { blockM: 64, blockN: 64, blockK: 64, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32' },
  { blockM: 32, blockN: 32, blockK: 64, warpsM: 1, warpsN: 1, stages: 1, staging: 'reg', accum: 'f32' },
  // INT4 group 128 needs blockK a multiple of 128 (one scale per K step): the same shapes at blockK 128,
  // last so every spec that had a default keeps it (issue 15: group 128 had none on any target).
  { blockM: 128, blockN: 128, blockK: 128, warpsM: 2, warpsN: 4, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 128, blockN: 128, blockK: 128, warpsM: 4, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 128, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 64, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'smem', accum: 'f32' },
  { blockM: 64, blockN: 128, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32' },
  { blockM: 64, blockN: 64, blockK: 128, warpsM: 2, warpsN: 2, stages: 2, staging: 'reg', accum: 'f32' },
  { blockM: 32, blockN: 64, blockK: 128, warpsM: 2, warpsN: 1, stages: 2, staging: 'reg', accum: 'f32' }, // sm_75 + qnext
  { blockM: 32, blockN: 32, blockK: 128, warpsM: 1, warpsN: 1, stages: 1, staging: 'reg', accum: 'f32' },
];

/** Candidates measured to spill (ptxas 13, 0-spill rule of test/kernels/gemm-compile*.test.ts): skipped for that kind. */
const SPILLS: ReadonlyArray<{ kind: KernelSpec['format']['kind']; qnext: boolean; tile: GemmTile }> = [
  // MXFP4 fc1 → qnext: 4 bytes of spill stores on sm_120a/121a; the 64×128 tile below has none
  { kind: 'mxfp4', qnext: true, tile: GEMM_CANDIDATES[1] },
];
const sameTile = (a: GemmTile, b: GemmTile): boolean => JSON.stringify(a) === JSON.stringify(b);

const ACT_CANDIDATES: readonly ActTile[] = [
  { blockM: 64, blockK: 256, warps: 4 },
  { blockM: 64, blockK: 128, warps: 4 },
  { blockM: 32, blockK: 128, warps: 2 },
  { blockM: 16, blockK: 128, warps: 1 },
];

export interface LayerTiles {
  gemm: GemmTile;
  act: ActTile;
}

/** The default tiles for `spec` on `target`; UserError listing the reasons when none is plannable. */
export function defaultTiles(spec: KernelSpec, target: Target): LayerTiles {
  const gemmWhy: string[] = [];
  const gemm = GEMM_CANDIDATES.find((t) => {
    if (SPILLS.some((x) => x.kind === spec.format.kind && x.qnext === spec.epilogue.some((o) => o.op === 'qnext') && sameTile(x.tile, t))) return false;
    const p = gemmTileProblems(spec, t, target);
    gemmWhy.push(...p);
    return p.length === 0;
  });
  const actWhy: string[] = [];
  const act = ACT_CANDIDATES.find((t) => {
    const p = actTileProblems(spec, t, target);
    actWhy.push(...p);
    return p.length === 0;
  });
  if (!gemm || !act) {
    // Clauses about the spec (`spec.…`) hold for every candidate: they are what the user asked for, so
    // name only those; the tile clauses of candidates the user never chose would only mislead.
    const failing = [...new Set(gemm ? actWhy : gemmWhy)];
    const specWhy = failing.filter((p) => p.startsWith('spec.'));
    const why = (specWhy.length ? specWhy : failing.slice(-2)).join('; ');
    throw new UserError(`no default ${gemm ? 'activation' : 'GEMM'} tile for ${spec.label ?? 'this layer'} on ${target.id} (${target.arch}): ${why}`);
  }
  return { gemm: { ...gemm }, act: { ...act } };
}
