// `svdq-codegen regress` wiring: flags reach runRegress, the summary goes to stdout, --json/--junit
// write their files, and the exit code is 0 only when nothing regressed (1 otherwise, 2 for a bad
// flag). The suite itself is replaced by a canned report here; test/regress/ runs it for real.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RegressReport } from '../../../regress/types.js';

const calls: unknown[] = [];
let next: RegressReport;

vi.mock('../../../regress/suite.js', () => ({
  runRegress: async (o: unknown) => {
    calls.push(o);
    return next;
  },
}));

const { main } = await import('../../../bin/cli.js');

function report(ok: boolean): RegressReport {
  return {
    ok,
    budget: 'quick',
    archs: ['sm_89'],
    catalogs: ['flux.1-dev'],
    subjects: ['rtx4090/w4a4_x'],
    toolchain: { nvcc: '13.0.88' },
    stages: [{ stage: 'traffic', passed: ok ? 1 : 0, regressed: ok ? 0 : 1, failed: 0, new: 0, skipped: 0, seconds: 1 }],
    cases: [
      {
        stage: 'traffic',
        name: 'rtx4090/w4a4_x M=145 N=256 K=512',
        status: ok ? 'passed' : 'regressed',
        message: ok ? 'fine' : 'gemm global load bytes above the baseline beyond tolerance',
        metrics: [{ metric: 'gemm global load bytes', current: ok ? 100 : 120, baseline: 100, delta: ok ? 0 : 20, tolerance: '+0.5 %', regressed: !ok, improved: false }],
        seconds: 1,
      },
    ],
    seconds: 2,
    baselineFile: 'generated/regress-baseline.json',
  };
}

describe('svdq-codegen regress (CLI)', () => {
  let out: string;
  let dir: string;
  beforeEach(async () => {
    calls.length = 0;
    out = '';
    process.exitCode = undefined;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-regress-cli-'));
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('exits 0 when nothing regressed and passes the flags through', async () => {
    next = report(true);
    const code = await main(['node', 'svdq-codegen', 'regress', '--gpu', 'sm_89,sm_86', '--catalog', 'flux.1-dev', '--budget', 'full', '--update-baseline', '--quiet']);
    expect(code).toBe(0);
    expect(calls[0]).toMatchObject({ gpus: ['sm_89', 'sm_86'], catalogs: ['flux.1-dev'], budget: 'full', updateBaseline: true });
    expect(out).toMatch(/OK: 1\/1 cases passed/);
  });

  it('exits 1 on a regression, says by how much, and writes JSON and JUnit files', async () => {
    next = report(false);
    const json = path.join(dir, 'r.json');
    const junit = path.join(dir, 'sub', 'r.xml');
    const code = await main(['node', 'svdq-codegen', 'regress', '--json', json, '--junit', junit, '--quiet']);
    expect(code).toBe(1);
    expect(calls[0]).toMatchObject({ budget: 'quick', updateBaseline: false });
    expect(out).toMatch(/REGRESSED \[traffic\] rtx4090\/w4a4_x M=145/);
    expect(out).toMatch(/gemm global load bytes: 100 → 120 \(\+20 \(\+20\.0 %\); tolerance \+0\.5 %\)/);
    expect(JSON.parse(await fs.readFile(json, 'utf8')).ok).toBe(false);
    expect(await fs.readFile(junit, 'utf8')).toMatch(/<failure message="gemm global load bytes above the baseline beyond tolerance" type="regression">/);
  });

  it('exits 2 on an unknown budget, naming the allowed ones', async () => {
    next = report(true);
    let err = '';
    vi.mocked(process.stderr.write).mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    const code = await main(['node', 'svdq-codegen', 'regress', '--budget', 'huge']);
    expect(code).toBe(2);
    expect(err).toMatch(/--budget: "huge" is not a budget; allowed: quick, full/);
    expect(calls).toEqual([]);
  });
});
