// Without a terminal `tune` printed nothing for 30 s (issue 15): a log gets a line per 10 % step.
import { describe, expect, it } from 'vitest';
import { tuneProgressReporter } from '../../tuner/progress.js';

describe('tune progress without a TTY', () => {
  it('prints line-based progress per 10 % step and one completion line per phase', () => {
    let text = '';
    const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
    const p = tuneProgressReporter(stream);
    for (let done = 1; done <= 40; done++) p.onProgress({ phase: 'compile', done, total: 40, uri: `k${done}`, ok: true, cached: false });
    p.onProgress({ phase: 'compile', done: 40, total: 40, uri: 'k40', ok: true, cached: false });
    p.stop();
    const lines = text.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[0]).toBe('compile: 1/40 (3%) k1'); // the phase has started
    expect(lines[1]).toBe('compile: 4/40 (10%) k4');
    expect(lines.at(-1)).toBe('compile: 40 done');
    expect(lines.filter((l) => l === 'compile: 40 done')).toHaveLength(1);
  });
});
