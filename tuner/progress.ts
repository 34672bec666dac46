// Progress bars for `tune` (compiles, then candidates or records) on stderr when it is a terminal;
// one plain line per phase otherwise, so logs and CI stay readable. Never writes to stdout (--json).
import cliProgress from 'cli-progress';
import type { TuneProgress } from './tune.js';

export function tuneProgressReporter(stream: NodeJS.WriteStream = process.stderr, enabled = true): { onProgress: (e: TuneProgress) => void; stop: () => void } {
  if (!enabled) return { onProgress: () => {}, stop: () => {} };
  const tty = Boolean(stream.isTTY);
  const bars = new Map<string, cliProgress.SingleBar>();
  const multi = tty
    ? new cliProgress.MultiBar(
        { stream, format: ' {phase} [{bar}] {value}/{total} {detail}', hideCursor: true, clearOnComplete: false, barsize: 30, noTTYOutput: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  // Without a terminal (CI logs, pipes): one line per 10% step or every 5 s, so a long phase is never silent.
  const lastLine = new Map<string, { step: number; at: number }>();
  const update = (phase: string, done: number, total: number, detail: string) => {
    if (multi) {
      let bar = bars.get(phase);
      if (!bar) {
        bar = multi.create(total, 0, { phase: phase.padEnd(9), detail: '' });
        bars.set(phase, bar);
      }
      bar.setTotal(total);
      bar.update(done, { phase: phase.padEnd(9), detail: detail.length > 60 ? `${detail.slice(0, 57)}…` : detail });
    } else {
      const step = total > 0 ? Math.floor((10 * done) / total) : 10;
      const now = Date.now();
      const last = lastLine.get(phase);
      if (last && last.step >= 10) return; // phase already reported complete
      if (!last || step > last.step || now - last.at >= 5000) {
        lastLine.set(phase, { step, at: now });
        stream.write(done === total ? `${phase}: ${total} done\n` : `${phase}: ${done}/${total} (${Math.round((100 * done) / Math.max(total, 1))}%) ${detail}\n`);
      }
    }
  };
  return {
    onProgress: (e) => {
      if (e.phase === 'plan') {
        const line = `tuning ${e.toTune} of ${e.jobs} shape bucket(s) (${e.resumed} already in the database); mode: ${e.mode === 'model' ? 'model — times are predicted' : 'measure'} (${e.reason})\n`;
        if (multi) multi.log(line);
        else stream.write(line);
      } else if (e.phase === 'compile') update('compile', e.done, e.total, `${e.cached ? 'cached ' : ''}${e.ok ? '' : 'FAILED '}${e.uri}`);
      else if (e.phase === 'measure') update('measure', e.done, e.total, e.id);
      else update('records', e.done, e.total, e.layers.join(', '));
    },
    stop: () => multi?.stop(),
  };
}
