import { describe, expect, it } from 'vitest';
import { judgeTiming } from '../../regress/measure.js';
import { compareMetric, formatDelta, limitMetric } from '../../regress/tolerances.js';

describe('regress tolerances', () => {
  it('registers may grow by 4, not 5', () => {
    expect(compareMetric('registers', 104, 100, 'registers').regressed).toBe(false);
    const m = compareMetric('registers', 105, 100, 'registers');
    expect(m.regressed).toBe(true);
    expect(formatDelta(m)).toBe('+5 (+5.0 %)');
  });

  it('traffic bytes may grow by 0.5 %; a smaller count is an improvement', () => {
    expect(compareMetric('b', 100_500, 100_000, 'trafficBytes').regressed).toBe(false);
    expect(compareMetric('b', 100_501, 100_000, 'trafficBytes').regressed).toBe(true);
    const better = compareMetric('b', 90_000, 100_000, 'trafficBytes');
    expect(better.improved && !better.regressed).toBe(true);
  });

  it('no baseline: nothing regresses; limits hold regardless of the baseline', () => {
    expect(compareMetric('x', 1e9, undefined, 'smemBytes').regressed).toBe(false);
    expect(limitMetric('spill store bytes', 8, 0, 'B', 8).regressed).toBe(true);
    expect(limitMetric('spill store bytes', 0, 0, 'B', 8).improved).toBe(true);
  });

  it('GPU time: a slow median is measured again and passes when a retry is within tolerance + noise', async () => {
    const samples = [
      { medianUs: 130, spreadUs: 1 },
      { medianUs: 104, spreadUs: 1 },
    ];
    let calls = 0;
    const v = await judgeTiming(async () => samples[calls++], 100);
    expect(calls).toBe(2);
    expect(v.metric.regressed).toBe(false);
    expect(v.bestUs).toBe(104);
  });

  it('GPU time: fails only when every attempt is slow beyond the noise band', async () => {
    let calls = 0;
    const v = await judgeTiming(async () => {
      calls++;
      return { medianUs: 120, spreadUs: 2 };
    }, 100);
    expect(calls).toBe(3);
    expect(v.metric.regressed).toBe(true);
    // the same median with a wide spread is noise, not a regression
    const noisy = await judgeTiming(async () => ({ medianUs: 120, spreadUs: 10 }), 100);
    expect(noisy.metric.regressed).toBe(false);
  });
});
