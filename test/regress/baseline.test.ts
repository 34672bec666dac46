import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffBaselines, emptyBaseline, readBaseline, stableStringify, writeBaseline, type Baseline } from '../../regress/baseline.js';
import { mergeBaseline } from '../../regress/suite.js';
import { tempDir } from './helpers.js';

const resources = { registers: 100, spillStoreBytes: 0, spillLoadBytes: 0, smemBytes: 0, dynamicSmemBytes: 17408, stackBytes: 0 };
const traffic = { globalLoadBytes: 1000, globalStoreBytes: 64, globalLoadSectors: 40, globalStoreSectors: 2, sharedBankConflicts: 0 };

function sample(): Baseline {
  const b = emptyBaseline('13.0.88');
  b.subjects['rtx4090/b'] = { uris: { act: 'act_b', gemm: 'w4a4_b' }, compile: { act: resources, gemm: resources }, predictedUs: { 'flux.1-dev': 10 } };
  b.subjects['rtx4090/a'] = { uris: { act: 'act_a', gemm: 'w4a4_a' }, traffic: { 'M=1': { act: traffic, gemm: traffic } }, measuredUs: { 'RTX 4090': 12.5 } };
  return b;
}

describe('regress baseline file', () => {
  it('round-trips through an atomic write with keys sorted at every level', async () => {
    const file = path.join(await tempDir('baseline'), 'sub', 'regress-baseline.json');
    await writeBaseline(sample(), file);
    const text = await fs.readFile(file, 'utf8');
    expect(text.indexOf('"rtx4090/a"')).toBeLessThan(text.indexOf('"rtx4090/b"'));
    expect(text.indexOf('"note"')).toBeLessThan(text.indexOf('"subjects"'));
    expect(await readBaseline(file)).toEqual(sample());
    expect(stableStringify(await readBaseline(file))).toBe(text);
  });

  it('reads a missing file as an empty baseline', async () => {
    const b = await readBaseline(path.join(await tempDir('baseline'), 'none.json'));
    expect(b.subjects).toEqual({});
  });

  it('names the bad field of a hand-edited file', async () => {
    const file = path.join(await tempDir('baseline'), 'bad.json');
    const bad = JSON.parse(stableStringify(sample()));
    bad.subjects['rtx4090/b'].compile.gemm.registers = -3;
    await fs.writeFile(file, JSON.stringify(bad));
    await expect(readBaseline(file)).rejects.toThrow(/subjects\.rtx4090\/b\.compile\.gemm\.registers/);
    await fs.writeFile(file, '{ not json');
    await expect(readBaseline(file)).rejects.toThrow(/not valid JSON/);
  });

  it('lists what changed, leaf by leaf', () => {
    const before = sample();
    const after = sample();
    after.subjects['rtx4090/b'].compile!.gemm = { ...resources, registers: 104 };
    delete after.subjects['rtx4090/a'].measuredUs;
    after.subjects['rtx4090/c'] = { uris: { act: 'x', gemm: 'y' }, predictedUs: { 'qwen-image': 3 } };
    const lines = diffBaselines(before, after);
    expect(lines).toContain('~ subjects.rtx4090/b.compile.gemm.registers: 100 → 104');
    expect(lines).toContain('- subjects.rtx4090/a.measuredUs.RTX 4090: 12.5');
    expect(lines).toContain('+ subjects.rtx4090/c.predictedUs.qwen-image: 3');
    expect(diffBaselines(before, sample())).toEqual([]);
  });

  it('merges a partial run: observed fields replace, the rest is kept; a changed config drops GPU timings', () => {
    const before = sample();
    const merged = mergeBaseline(before, { 'rtx4090/a': { uris: { act: 'act_a', gemm: 'w4a4_a' }, traffic: { 'M=145': { act: traffic, gemm: traffic } } } }, '13.1');
    expect(Object.keys(merged.subjects['rtx4090/a'].traffic!).sort()).toEqual(['M=1', 'M=145']);
    expect(merged.subjects['rtx4090/a'].measuredUs).toEqual({ 'RTX 4090': 12.5 });
    expect(merged.subjects['rtx4090/b']).toEqual(before.subjects['rtx4090/b']);
    expect(merged.toolchain.nvcc).toBe('13.1');
    const retiled = mergeBaseline(before, { 'rtx4090/a': { uris: { act: 'act_a', gemm: 'w4a4_a_other_tile' } } }, undefined);
    expect(retiled.subjects['rtx4090/a'].measuredUs).toBeUndefined();
    expect(retiled.subjects['rtx4090/a'].uris.gemm).toBe('w4a4_a_other_tile');
  });
});
