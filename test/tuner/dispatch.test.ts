import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDispatchTable, launcherSymbol, renderDispatchHeader } from '../../tuner/dispatch.js';
import { makeRecord } from './fixtures/records.js';

const records = [
  makeRecord({ m: 512, n: 3072, tile: { blockM: 64 } }),
  makeRecord({ m: 4096, n: 3072, tile: { blockM: 128 } }),
  makeRecord({ m: 4608, n: 3072, tile: { blockM: 256, blockN: 64 } }),
  makeRecord({ m: 4096, n: 9216, tile: { blockN: 256 } }),
  makeRecord({ m: 4096, n: 9216, target: 'l40s' }),
];

describe('dispatch table', () => {
  it('is byte-identical whatever the record order', () => {
    const a = renderDispatchHeader(buildDispatchTable(records, 'rtx4090'));
    const b = renderDispatchHeader(buildDispatchTable([...records].reverse(), 'rtx4090'));
    expect(a).toBe(b);
    expect(a).not.toMatch(/\d{4}-\d\d-\d\dT/); // no timestamps
  });

  it('covers the M axis per shape without gaps and keeps other GPUs out', () => {
    const t = buildDispatchTable(records, 'rtx4090');
    expect(t.entries.map((e) => [e.n, e.mLo, e.mHi])).toEqual([
      [3072, 0, 512],
      [3072, 512, 4096],
      [3072, 4096, 0],
      [9216, 0, 0],
    ]);
  });

  it('has a default per family: the tuned tile with the weakest N/K constraints', () => {
    const t = buildDispatchTable(records, 'rtx4090');
    expect(t.defaults).toHaveLength(1);
    expect(t.defaults[0].gemmUri).toContain('m256n64k64');
  });

  it('compiles as C and its lookup returns tuned entries, then the default for unseen shapes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-dispatch-'));
    const t = buildDispatchTable(records, 'rtx4090');
    await writeFile(join(dir, 'd.h'), renderDispatchHeader(t));
    const fam = JSON.stringify(t.entries[0].family);
    await writeFile(
      join(dir, 'main.c'),
      `#include <stdio.h>\n#include "d.h"\nint main(void){\n` +
        `int ms[] = {1, 512, 513, 4096, 5000, 100000};\n` +
        `for (int i = 0; i < 6; ++i) { const svdq_dispatch_rtx4090_entry* e = svdq_dispatch_rtx4090_find(${fam}, ms[i], 3072, 3072); printf("%s\\n", e ? e->gemm_uri : "null"); }\n` +
        `const svdq_dispatch_rtx4090_entry* d = svdq_dispatch_rtx4090_find(${fam}, 77, 2240, 5600); printf("%s\\n", d ? d->gemm_uri : "null");\n` +
        `printf("%s\\n", svdq_dispatch_rtx4090_find("nope", 1, 1, 1) ? "found" : "null");\nreturn 0;}\n`,
    );
    execFileSync('gcc', ['-std=c99', '-Wall', '-Werror', '-o', join(dir, 'main'), join(dir, 'main.c')], { cwd: dir });
    const out = execFileSync(join(dir, 'main'), { encoding: 'utf8' }).trim().split('\n');
    const uriFor = (m: number) => t.entries.find((e) => e.n === 3072 && m > e.mLo && (e.mHi === 0 || m <= e.mHi))!.gemmUri;
    expect(out.slice(0, 6)).toEqual([1, 512, 513, 4096, 5000, 100000].map(uriFor));
    expect(out[6]).toBe(t.defaults[0].gemmUri);
    expect(out[7]).toBe('null');
  });

  it('launcher symbols are C identifiers', () => {
    expect(launcherSymbol(records[0].gemmUri)).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
  });
});
