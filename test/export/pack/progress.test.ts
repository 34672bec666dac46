// pack's progress: a bar on a terminal, one line per layer (at most ~10 for many layers) otherwise.
import { describe, expect, it } from 'vitest';
import { packProgress } from '../../../export/pack/progress.js';

function fakeStream(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const stream = {
    isTTY: tty,
    columns: 120,
    write: (s: string) => {
      out += s;
      return true;
    },
    cursorTo: () => true,
    moveCursor: () => true,
    clearLine: () => true,
    clearScreenDown: () => true,
    on: () => stream,
    removeListener: () => stream,
  } as unknown as NodeJS.WriteStream;
  return { stream, text: () => out };
}

describe('packProgress', () => {
  it('writes one line per layer when not a terminal, thinned to tenths for many layers', () => {
    const few = fakeStream(false);
    const p = packProgress(few.stream);
    for (let i = 1; i <= 3; i++) p.onLayer(i, 3, `L${i}`, i << 20, 3 << 20);
    p.stop();
    expect(few.text()).toBe('pack: 1/3 layers (1/3 MiB) L1\npack: 2/3 layers (2/3 MiB) L2\npack: 3/3 layers (3/3 MiB) L3\n');
    const many = fakeStream(false);
    const q = packProgress(many.stream);
    for (let i = 1; i <= 304; i++) q.onLayer(i, 304, `L${i}`, i, 304);
    const lines = many.text().trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines.at(-1)).toContain('304/304 layers');
  });

  it('draws a bar on a terminal', () => {
    const tty = fakeStream(true);
    const p = packProgress(tty.stream);
    p.onLayer(1, 2, 'transformer_blocks.0.qkv_proj', 1 << 20, 2 << 20);
    p.onLayer(2, 2, 'transformer_blocks.0.out_proj', 2 << 20, 2 << 20);
    p.stop();
    expect(tty.text()).toContain('2/2 layers, 2/2 MiB');
    expect(tty.text()).not.toContain('pack: 1/2'); // no plain lines
  });
});
