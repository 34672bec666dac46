// How much a number may grow before `regress` calls it a regression (docs/regress.md "Tolerances").
// ptxas reports and emulator counters are deterministic for a given toolchain, so their tolerances
// are small and exist to absorb toolchain noise, not to hide changes; spills are never tolerated.
// GPU timings are noisy: they get a relative tolerance plus a noise band, and are re-measured before
// they fail (measure.ts).
import type { MetricResult } from './types.js';

export interface Tolerance {
  /** Allowed growth as a fraction of the baseline (0.02 = 2 %). */
  relative: number;
  /** Allowed growth in the metric's own unit, added to the relative part. */
  absolute: number;
  unit: string;
}

export const TOLERANCES = {
  registers: { relative: 0, absolute: 4, unit: 'regs' },
  spillBytes: { relative: 0, absolute: 0, unit: 'B' },
  smemBytes: { relative: 0, absolute: 0, unit: 'B' },
  stackBytes: { relative: 0, absolute: 0, unit: 'B' },
  trafficBytes: { relative: 0.005, absolute: 0, unit: 'B' },
  trafficSectors: { relative: 0.005, absolute: 0, unit: 'sectors' },
  bankConflicts: { relative: 0.05, absolute: 0, unit: 'conflicts' },
  predictedUs: { relative: 0.02, absolute: 0, unit: 'µs' },
  measuredUs: { relative: 0.05, absolute: 0, unit: 'µs' },
  /** Static main-loop instructions per MMA / per 64 elements (the sass stage): deterministic per toolchain. */
  instrPerStep: { relative: 0.02, absolute: 0, unit: 'instr' },
} as const satisfies Record<string, Tolerance>;

export type ToleranceName = keyof typeof TOLERANCES;

export function describeTolerance(t: Tolerance): string {
  const parts: string[] = [];
  if (t.relative > 0) parts.push(`${+(t.relative * 100).toFixed(2)} %`);
  if (t.absolute > 0 || parts.length === 0) parts.push(`${t.absolute} ${t.unit}`);
  return `+${parts.join(' + ')}`;
}

/** The largest value that still passes against `baseline`. */
export function allowedMax(baseline: number, t: Tolerance, extra = 0): number {
  return baseline + Math.abs(baseline) * t.relative + t.absolute + extra;
}

/**
 * One metric against its baseline: regressed when above the allowed maximum; without a baseline
 * nothing regresses (the case is reported as new). `extra` widens the band (GPU noise).
 */
export function compareMetric(metric: string, current: number, baseline: number | undefined, tol: ToleranceName | Tolerance, extra = 0): MetricResult {
  const t = typeof tol === 'string' ? TOLERANCES[tol] : tol;
  const tolerance = describeTolerance(t);
  if (baseline === undefined) return { metric, current, tolerance, regressed: false, improved: false };
  return {
    metric,
    current,
    baseline,
    delta: current - baseline,
    tolerance,
    regressed: current > allowedMax(baseline, t, extra),
    improved: current < baseline,
  };
}

/** An absolute rule with no baseline (e.g. "no spill bytes"): regressed when `current > limit`. */
export function limitMetric(metric: string, current: number, limit: number, unit: string, baseline?: number): MetricResult {
  return {
    metric,
    current,
    ...(baseline !== undefined ? { baseline, delta: current - baseline } : {}),
    tolerance: `≤ ${limit} ${unit}`,
    regressed: current > limit,
    improved: baseline !== undefined && current < baseline,
  };
}

/** "+12 B (+3.1 %)" for a report line. */
export function formatDelta(m: MetricResult): string {
  if (m.baseline === undefined || m.delta === undefined) return 'no baseline';
  const sign = m.delta > 0 ? '+' : m.delta < 0 ? '−' : '±';
  const abs = Math.abs(m.delta);
  const num = Number.isInteger(abs) ? String(abs) : abs.toPrecision(3);
  const pct = m.baseline !== 0 ? ` (${sign}${((100 * abs) / Math.abs(m.baseline)).toFixed(1)} %)` : '';
  return `${sign}${num}${pct}`;
}
