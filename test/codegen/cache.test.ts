import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { buildMany, cacheKey, cachedBuild, treeDigest, REPO_ROOT } from '../../codegen/cache.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'svdq-cache-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cacheKey', () => {
  it('is deterministic and separates its parts', () => {
    expect(cacheKey('a', 'bc')).toBe(cacheKey('a', 'bc'));
    expect(cacheKey('ab', 'c')).not.toBe(cacheKey('a', 'bc'));
    expect(cacheKey('x', new Uint8Array([1, 2]))).toMatch(/^[0-9a-f]{64}$/);
  });
  it('treeDigest changes when any file under the tree changes', async () => {
    const dir = mkdtempSync(path.join(root, 'tree-'));
    await fs.mkdir(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'a.h'), 'int a;');
    const before = await treeDigest(dir);
    expect(await treeDigest(dir)).toBe(before);
    writeFileSync(path.join(dir, 'sub', 'a.h'), 'int b;');
    expect(await treeDigest(dir)).not.toBe(before);
  });
});

describe('cachedBuild', () => {
  it('builds on a miss, reuses on a hit', async () => {
    const key = cacheKey('hit-test');
    let builds = 0;
    const build = async (tmp: string) => {
      builds++;
      await fs.writeFile(path.join(tmp, 'out.txt'), 'artifact');
      return { n: 42 };
    };
    const first = await cachedBuild(key, build, root);
    expect(first).toMatchObject({ hit: false, meta: { n: 42 } });
    expect(readFileSync(path.join(first.dir, 'out.txt'), 'utf8')).toBe('artifact');
    const second = await cachedBuild(key, build, root);
    expect(second).toMatchObject({ hit: true, dir: first.dir, meta: { n: 42 } });
    expect(builds).toBe(1);
  });

  it('publishes nothing when the build fails and leaves no temp directory', async () => {
    const key = cacheKey('fail-test');
    await expect(cachedBuild(key, async () => { throw new Error('boom'); }, root)).rejects.toThrow('boom');
    const again = await cachedBuild(key, async () => ({ ok: true }), root);
    expect(again.hit).toBe(false);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });

  it('replaces a damaged entry (meta.json deleted) with a fresh build', async () => {
    const key = cacheKey('damaged-test');
    const first = await cachedBuild(key, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'a'), '1');
      return { v: 1 };
    }, root);
    rmSync(path.join(first.dir, 'meta.json'));
    const again = await cachedBuild(key, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'a'), '2');
      return { v: 2 };
    }, root);
    expect(again).toMatchObject({ hit: false, dir: first.dir, meta: { v: 2 } });
    expect(readFileSync(path.join(first.dir, 'a'), 'utf8')).toBe('2');
  });

  it('racing builders of one key end with one complete entry', async () => {
    const key = cacheKey('race-test');
    const results = await Promise.all(
      [1, 2, 3].map((id) =>
        cachedBuild(key, async (tmp) => {
          await fs.writeFile(path.join(tmp, 'who'), String(id));
          await new Promise((r) => setTimeout(r, 20));
          return { id };
        }, root),
      ),
    );
    const dirs = new Set(results.map((r) => r.dir));
    expect(dirs.size).toBe(1);
    const winner = JSON.parse(readFileSync(path.join(results[0].dir, 'meta.json'), 'utf8')).id;
    expect(readFileSync(path.join(results[0].dir, 'who'), 'utf8')).toBe(String(winner));
    expect(results.filter((r) => !r.hit)).toHaveLength(1);
    expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  });

  it('two processes building the same key agree on one entry', async () => {
    const script = `
      import { cachedBuild, cacheKey } from ${JSON.stringify(path.join(REPO_ROOT, 'codegen/cache.ts'))};
      import { promises as fs } from 'node:fs';
      const r = await cachedBuild(cacheKey('process-race'), async (tmp) => {
        await fs.writeFile(tmp + '/pid', String(process.pid));
        await new Promise((res) => setTimeout(res, 200));
        return { pid: process.pid };
      }, ${JSON.stringify(root)});
      process.stdout.write(JSON.stringify({ dir: r.dir, pid: r.meta.pid }));
    `;
    const run = () => execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT });
    const [a, b] = await Promise.all([run(), run()]);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    expect(ra).toEqual(rb);
    expect(readFileSync(path.join(ra.dir, 'pid'), 'utf8')).toBe(String(ra.pid));
  });
});

describe('buildMany', () => {
  it('bounds parallelism, keeps job order, records failures and reports progress', async () => {
    let inFlight = 0;
    let peak = 0;
    const progress: number[] = [];
    const jobs = Array.from({ length: 7 }, (_, i) => ({
      label: `job${i}`,
      run: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5 * ((i * 3) % 4)));
        inFlight--;
        if (i === 4) throw new Error('job 4 failed');
        return i * 10;
      },
    }));
    const out = await buildMany(jobs, { concurrency: 2, onProgress: (done, total) => progress.push(done * 100 + total) });
    expect(peak).toBe(2);
    expect(out.map((o) => o.label)).toEqual(jobs.map((j) => j.label));
    expect(out.filter((o) => o.ok).map((o) => (o as { value: number }).value)).toEqual([0, 10, 20, 30, 50, 60]);
    expect(out[4]).toMatchObject({ ok: false, label: 'job4' });
    expect(progress).toEqual([107, 207, 307, 407, 507, 607, 707]);
  });
});
