// `pack` progress on stderr: a bar (cli-progress) over the layers' input bytes when stderr is a
// terminal; otherwise one line per layer, then never more than one line per ~10% so large checkpoints
// keep logs short. Never writes to stdout.
import cliProgress from 'cli-progress';

const MiB = (b: number) => (b / 2 ** 20).toFixed(0);

export function packProgress(stream: NodeJS.WriteStream = process.stderr): { onLayer: (done: number, total: number, prefix: string, bytes: number, totalBytes: number) => void; stop: () => void } {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: ' pack [{bar}] {value}/{total} layers, {mib}/{totalMib} MiB {prefix}', hideCursor: true, barsize: 30, clearOnComplete: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      onLayer: (done, total, prefix, bytes, totalBytes) => {
        const payload = { prefix: prefix.length > 50 ? `…${prefix.slice(-49)}` : prefix, mib: MiB(bytes), totalMib: MiB(totalBytes) };
        if (!started) bar.start(total, 0, payload);
        started = true;
        bar.update(done, payload);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let lastTenth = -1;
  return {
    onLayer: (done, total, prefix, bytes, totalBytes) => {
      const tenth = Math.floor((10 * done) / total);
      if (total > 20 && tenth === lastTenth && done !== total) return;
      lastTenth = tenth;
      stream.write(`pack: ${done}/${total} layers (${MiB(bytes)}/${MiB(totalBytes)} MiB) ${prefix}\n`);
    },
    stop: () => {},
  };
}
