// Timing on a real GPU, judged against the baseline with noise in mind: a median above
// baseline × (1 + 5 %) + 2 × its own spread (p90 − p10) is measured again, up to `attempts` times,
// and only fails when every attempt is slow; the fastest median is what the baseline records.
import { compareMetric } from './tolerances.js';
import type { MetricResult } from './types.js';

export interface TimingSample {
  medianUs: number;
  /** p90 − p10 of the samples behind the median, µs. */
  spreadUs: number;
}

export interface TimingVerdict {
  metric: MetricResult;
  /** The fastest median seen (what --update-baseline records). */
  bestUs: number;
  attempts: number;
}

export async function judgeTiming(measure: () => Promise<TimingSample>, baselineUs: number | undefined, attempts = 3): Promise<TimingVerdict> {
  let best: TimingSample | undefined;
  let metric: MetricResult | undefined;
  let tries = 0;
  while (tries < attempts) {
    tries++;
    const s = await measure();
    if (!best || s.medianUs < best.medianUs) best = s;
    metric = compareMetric('measured time (µs, GPU)', best.medianUs, baselineUs, 'measuredUs', 2 * best.spreadUs);
    if (!metric.regressed) break;
  }
  return { metric: metric!, bestUs: best!.medianUs, attempts: tries };
}
