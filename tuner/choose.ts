// Picking the GEMM among compiled candidates without a GPU, and the model-level totals.
// A stable choice: predictions within TIE_FRACTION of each other are a tie, broken by fewer main-loop
// instructions per MMA (the compiled counts), then by URI. A tile with more instr/MMA than the job's
// default tile is chosen only when the model predicts it faster by MORE_INSTR_MARGIN, and the record
// says why (docs/tuning.md "Choosing").
import type { Bound, TuneRecord } from './records.js';

/** Predictions closer than this fraction are a tie (assumed: below the model's resolution). */
export const TIE_FRACTION = 0.005;
/** How much faster a tile with more instr/MMA than the default must be predicted (assumed: between
 * tiles the model is not known to be better than 10 %, and extra instructions are a sure cost). */
export const MORE_INSTR_MARGIN = 0.1;

export interface Choosable {
  uri: string;
  timeUs: number;
  bound: Bound;
  /** Main-loop instructions per MMA from the compiled kernel; undefined = not known (static). */
  perMma?: number;
}

export interface Choice<T extends Choosable> {
  chosen: T;
  /** Set when the chosen tile has more instr/MMA than the default: the prediction that justifies it. */
  why?: string;
}

const perMmaOf = (c: Choosable) => c.perMma ?? Infinity;

function better(a: Choosable, b: Choosable): number {
  const lo = Math.min(a.timeUs, b.timeUs);
  if (Math.abs(a.timeUs - b.timeUs) > TIE_FRACTION * lo) return a.timeUs - b.timeUs;
  return perMmaOf(a) - perMmaOf(b) || (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0);
}

/** The best candidate under the rules above; `defaultUri` names the job's default tile (in `list` when it compiled). */
export function chooseGemm<T extends Choosable>(list: readonly T[], defaultUri: string): Choice<T> {
  if (!list.length) throw new Error('chooseGemm: no candidates');
  const ranked = [...list].sort(better);
  const def = list.find((c) => c.uri === defaultUri);
  const best = ranked[0];
  if (!def || def.perMma === undefined || best.perMma === undefined || best.perMma <= def.perMma) return { chosen: best };
  // The best has more instructions per MMA than the default: the best of those with no more than the
  // default must lose by the margin, else it wins.
  const lean = ranked.find((c) => c.perMma !== undefined && c.perMma <= def.perMma!)!;
  if (best.timeUs < lean.timeUs * (1 - MORE_INSTR_MARGIN)) {
    const gain = (100 * (lean.timeUs - best.timeUs)) / lean.timeUs;
    return {
      chosen: best,
      why: `${best.perMma.toFixed(1)} instr/MMA > default ${def.perMma.toFixed(1)}, but predicted ${best.timeUs.toFixed(1)} µs vs ${lean.timeUs.toFixed(1)} µs (${gain.toFixed(0)} % faster; the leaner tile is ${lean.bound}-bound)`,
    };
  }
  return { chosen: lean };
}

/** Layer kind for the per-kind chart: the last dotted part of a layer name (qkv, attn_out, mlp_fc1, …). */
export const layerKind = (layer: string): string => layer.split('.').pop() ?? layer;

export interface ModelTotals {
  label: 'predicted';
  /** Σ chosen time × calls per forward (µs); measured records contribute their predicted estimate. */
  modelTotalUs: number;
  modelTotalBaselineUs: number;
  /** modelTotalBaselineUs / modelTotalUs. */
  vsBaseline: number;
  /** The same per layer kind (the first layer of each record names the kind). */
  byKind: { kind: string; us: number; baselineUs: number }[];
}

/**
 * One forward's linear-layer time: every record × its calls per forward. A qnext chain (fc1 → fc2) is
 * two GEMMs and one activation kernel: fc2's record has no activation kernel, so nothing is counted twice.
 */
export function modelTotals(records: readonly TuneRecord[]): ModelTotals | null {
  if (!records.length || records.some((r) => !r.countPerForward || !r.baseline || !r.predictedTimeUs)) return null;
  const kinds = new Map<string, { us: number; baselineUs: number }>();
  let total = 0;
  let base = 0;
  for (const r of records) {
    const us = r.predictedTimeUs! * r.countPerForward!;
    const b = r.baseline!.timeUs * r.countPerForward!;
    total += us;
    base += b;
    const k = kinds.get(layerKind(r.layers[0])) ?? { us: 0, baselineUs: 0 };
    k.us += us;
    k.baselineUs += b;
    kinds.set(layerKind(r.layers[0]), k);
  }
  const byKind = [...kinds.entries()].map(([kind, v]) => ({ kind, ...v })).sort((a, b) => (a.kind < b.kind ? -1 : 1));
  return { label: 'predicted', modelTotalUs: total, modelTotalBaselineUs: base, vsBaseline: base / total, byKind };
}
