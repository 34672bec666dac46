// Which kernels `inspect` looks at: URIs as given, the kernels of a DSL spec file (default tiles or
// --tile), or every kernel of a model catalog on a GPU (the committed catalog's default tiles).
import { checkSpecOnTarget, withSlowInt4 } from '../../dsl/compat.js';
import { UserError } from '../../dsl/errors.js';
import { loadUserSpecFile } from '../../dsl/load.js';
import { resolveModel, specsFor } from '../../dsl/models/index.js';
import { resolveGpu } from '../../dsl/targets.js';
import { validateGemmTile } from '../../dsl/tiles.js';
import type { GemmTile, KernelSpec, Target } from '../../dsl/types.js';
import { defaultTiles } from '../default-tiles.js';
import { catalogVariants } from '../generate.js';
import { planLayer } from '../plan/index.js';
import { parseUri } from '../uri.js';

export interface InspectSelection {
  uris?: string[];
  /** --gpu: an arch or a card id; with URIs it must match each URI's arch. */
  gpu?: string;
  /** --spec: a DSL file of KernelSpecs. */
  spec?: string;
  /** --tile: the GEMM tile for --spec/--model, e.g. m128n256k128_w2x4_s2_smem_f32acc. */
  tile?: string;
  /** --model: a built-in catalog id. */
  model?: string;
}

const TILE_FORM = 'm<BM>n<BN>k<BK>_w<WM>x<WN>_s<stages>_<reg|smem>_<f32|f16>acc, e.g. m128n128k64_w2x4_s2_smem_f32acc';

/** A GEMM tile written as in a URI. */
export function parseTileArg(text: string): GemmTile {
  const m = /^m(\d+)n(\d+)k(\d+)_w(\d+)x(\d+)_s(\d+)_(reg|smem)_(f32|f16)acc$/.exec(text.trim());
  if (!m) throw new UserError(`--tile: ${JSON.stringify(text)} is not valid; expected ${TILE_FORM}`);
  return validateGemmTile(
    { blockM: +m[1], blockN: +m[2], blockK: +m[3], warpsM: +m[4], warpsN: +m[5], stages: +m[6], staging: m[7], accum: m[8] },
    undefined,
    '--tile',
  );
}

function layerUris(specs: readonly KernelSpec[], target: Target, tile: GemmTile | undefined): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    checkSpecOnTarget(spec, target);
    const tiles = defaultTiles(spec, target);
    const plan = planLayer(spec, tile ? { ...tiles, gemm: tile } : tiles, target);
    out.push(plan.act.uri, plan.gemm.uri);
  }
  return [...new Set(out)];
}

/**
 * The kernel URIs a selection names, in order, without duplicates, and the --gpu card when one was given
 * (undefined: each URI's arch default); UserError for a bad combination.
 */
export async function selectKernels(sel: InspectSelection): Promise<{ uris: string[]; target?: Target }> {
  const uris = await selectUris(sel);
  return { uris, ...(sel.gpu ? { target: resolveGpu(sel.gpu) } : {}) };
}

/** The kernel URIs a selection names, in order, without duplicates; UserError for a bad combination. */
export async function selectUris(sel: InspectSelection): Promise<string[]> {
  const modes = [sel.uris && sel.uris.length > 0 ? 'URIs' : '', sel.spec ? '--spec' : '', sel.model ? '--model' : ''].filter(Boolean);
  if (modes.length === 0) throw new UserError('inspect: give kernel URIs, --spec FILE or --model ID (with --gpu)');
  if (modes.length > 1) throw new UserError(`inspect: ${modes.join(' and ')} are exclusive; give one of URIs, --spec FILE or --model ID`);
  if (sel.uris && sel.uris.length > 0) {
    if (sel.tile) throw new UserError('--tile: only with --spec or --model (a URI already names its tile)');
    const arch = sel.gpu ? resolveGpu(sel.gpu).arch : undefined;
    for (const uri of sel.uris) {
      const parsed = parseUri(uri);
      if (arch && parsed.arch !== arch) throw new UserError(`kernel URI '${uri}' is for ${parsed.arch}, but --gpu ${sel.gpu} is ${arch}; drop --gpu or give a ${arch} URI`);
    }
    return [...new Set(sel.uris)];
  }
  if (!sel.gpu) throw new UserError(`${modes[0]}: also give --gpu (an arch such as sm_89, or a card id)`);
  // sm_90 has no 4-bit MMA: its kernels are planned through the labelled slow-path override
  const gpu = resolveGpu(sel.gpu);
  const target = gpu.arch === 'sm_90' ? withSlowInt4(gpu) : gpu;
  const tile = sel.tile ? parseTileArg(sel.tile) : undefined;
  if (sel.spec) return layerUris(await loadUserSpecFile(sel.spec), target, tile);
  const catalog = resolveModel(sel.model!);
  const specs = catalogVariants(target.arch).flatMap((v) => specsFor(catalog, v).map((s) => s.spec));
  return layerUris(specs, target, tile);
}
