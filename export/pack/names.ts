// Which tensors of a checkpoint belong to which layer, under both namings Nunchaku uses: the C++ /
// on-disk names (DeepCompressor's convert.py writes them, Nunchaku's Linear.cpp registers them:
// lora_down, lora_up, smooth, smooth_orig) and the Python names (nunchaku/models/linear.py, the v2
// FLUX loader: proj_down, proj_up, smooth_factor, smooth_factor_orig). Every tensor ends up in exactly
// one bucket: a layer role, a verbatim copy (non-quantized, or an AWQ W4A16 layer we do not run), dropped
// with a reason, or unrecognized — which `--strict` (the default) refuses, naming it.
import { UserError } from '../../dsl/errors.js';
import type { StTensorInfo } from '../../codegen/safetensors.js';

export type PackSource = 'nunchaku' | 'logical';
export type Role = 'qweight' | 'wscales' | 'wtscale' | 'wcscales' | 'bias' | 'smooth' | 'smooth_orig' | 'down' | 'up' | 'lora_scales';

/** suffix → role, per source (docs/export.md "Upstream tensor names"). */
export const ROLES: Record<PackSource, Readonly<Record<string, Role>>> = {
  nunchaku: {
    qweight: 'qweight',
    wscales: 'wscales',
    wtscale: 'wtscale',
    alpha: 'wtscale',
    wcscales: 'wcscales',
    bias: 'bias',
    smooth: 'smooth',
    smooth_factor: 'smooth',
    smooth_orig: 'smooth_orig',
    smooth_factor_orig: 'smooth_orig',
    lora_down: 'down',
    proj_down: 'down',
    lora_up: 'up',
    proj_up: 'up',
  },
  logical: {
    qweight: 'qweight',
    wscales: 'wscales',
    wtensor_scale: 'wtscale',
    wcscales: 'wcscales',
    bias: 'bias',
    smooth: 'smooth',
    lora_down: 'down',
    lora_up: 'up',
    lora_scales: 'lora_scales',
  },
};

/**
 * Suffixes that only a quantized layer has: one of these outside a layer we consume is never silently
 * copied. Not `lora_down`/`lora_up`/`lora_scales`: 16-bit adapters (user LoRAs) use those names on their own.
 */
const QUANTIZED_LOOKING = new Set([
  'qweight', 'wscales', 'wtscale', 'wcscales', 'wtensor_scale', 'wzeros', 'smooth', 'smooth_factor', 'smooth_orig',
  'smooth_factor_orig', 'proj_down', 'proj_up', 'wq',
]);
/** AWQ W4A16 GEMV layers (Nunchaku's adaLN norm*.linear): qweight + wscales + wzeros (+ bias). */
const W4A16_SUFFIXES = new Set(['qweight', 'wscales', 'wzeros', 'bias']);

export interface LayerGroup {
  prefix: string;
  /** role → tensor */
  tensors: Map<Role, StTensorInfo>;
  /** Which naming the layer's tensors use ('python', 'cpp', or 'neutral' when only shared names occur). */
  naming: 'python' | 'cpp' | 'neutral';
}

export interface Disposition {
  tensor: string;
  reason: string;
}

export interface Classified {
  layers: LayerGroup[];
  /** Copied byte for byte, in file order. */
  passthrough: StTensorInfo[];
  /** Quantized tensors copied verbatim because we do not run that kind of layer (named with the reason). */
  copiedQuantized: Disposition[];
  dropped: Disposition[];
  /** Quantized-looking tensors no layer consumes (an error under --strict). */
  unrecognized: Disposition[];
}

const PYTHON_ONLY = new Set(['proj_down', 'proj_up', 'smooth_factor', 'smooth_factor_orig']);
const CPP_ONLY = new Set(['lora_down', 'lora_up', 'smooth', 'smooth_orig']);

function split(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? [name.slice(0, dot), name.slice(dot + 1)] : ['', name];
}

/** Sorts every tensor into a layer role, a copy, a drop or an unrecognized entry; strict mode refuses the last. */
export function classifyTensors(tensors: readonly StTensorInfo[], source: PackSource, strict: boolean): Classified {
  const bySuffix = new Map<string, Set<string>>();
  for (const t of tensors) {
    const [p, s] = split(t.name);
    if (!bySuffix.has(p)) bySuffix.set(p, new Set());
    bySuffix.get(p)!.add(s);
  }
  const isW4A16 = (p: string) => source === 'nunchaku' && bySuffix.get(p)?.has('qweight') && bySuffix.get(p)?.has('wzeros');
  const isLayer = (p: string) => bySuffix.get(p)?.has('qweight') && !isW4A16(p);
  const roles = ROLES[source];
  const groups = new Map<string, LayerGroup>();
  const out: Classified = { layers: [], passthrough: [], copiedQuantized: [], dropped: [], unrecognized: [] };
  for (const t of tensors) {
    const [prefix, suffix] = split(t.name);
    if (isW4A16(prefix)) {
      if (W4A16_SUFFIXES.has(suffix)) {
        out.passthrough.push(t);
        out.copiedQuantized.push({ tensor: t.name, reason: 'AWQ W4A16 GEMV layer (qweight + wscales + wzeros): not a W4A4 layer, copied unchanged in Nunchaku\'s layout' });
      } else {
        out.unrecognized.push({ tensor: t.name, reason: `'${suffix}' is not a tensor of an AWQ W4A16 layer (qweight, wscales, wzeros, bias)` });
      }
      continue;
    }
    if (isLayer(prefix)) {
      const role = roles[suffix];
      if (!role) {
        out.unrecognized.push({ tensor: t.name, reason: `'${suffix}' is not a ${source} layer tensor; known: ${Object.keys(roles).join(', ')}` });
        continue;
      }
      let g = groups.get(prefix);
      if (!g) groups.set(prefix, (g = { prefix, tensors: new Map(), naming: 'neutral' }));
      const prev = g.tensors.get(role);
      if (prev) throw new UserError(`layer '${prefix}': tensors '${prev.name}' and '${t.name}' both give its ${role} (one naming per layer: Python or C++)`);
      if (role === 'smooth_orig') {
        out.dropped.push({ tensor: t.name, reason: 'pre-folding smoothing kept for re-quantization; no upstream kernel reads it' });
      } else {
        g.tensors.set(role, t);
      }
      const naming = PYTHON_ONLY.has(suffix) ? 'python' : CPP_ONLY.has(suffix) ? 'cpp' : 'neutral';
      if (naming !== 'neutral' && source === 'nunchaku') {
        if (g.naming !== 'neutral' && g.naming !== naming) throw new UserError(`layer '${prefix}': '${t.name}' uses the ${naming} naming but the layer's other tensors use the ${g.naming} one`);
        g.naming = naming;
      }
      continue;
    }
    if (QUANTIZED_LOOKING.has(suffix)) {
      out.unrecognized.push({ tensor: t.name, reason: `looks like part of a quantized layer, but there is no '${prefix}.qweight'` });
      continue;
    }
    out.passthrough.push(t);
  }
  out.layers = [...groups.values()];
  if (strict && out.unrecognized.length > 0) {
    const list = out.unrecognized.slice(0, 5).map((u) => `'${u.tensor}' (${u.reason})`).join('; ');
    const more = out.unrecognized.length > 5 ? ` and ${out.unrecognized.length - 5} more` : '';
    throw new UserError(`${out.unrecognized.length} tensor(s) look quantized but no layer consumes them: ${list}${more}. Nothing was written; pass --no-strict to copy them through unchanged (listed in svdq.unrecognized)`);
  }
  const unknown = new Set(out.unrecognized.map((u) => u.tensor));
  if (!strict) out.passthrough.push(...tensors.filter((t) => unknown.has(t.name)));
  return out;
}
