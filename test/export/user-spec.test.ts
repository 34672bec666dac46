// build --spec: only the tuning records of the spec file's own kernel families become dispatch rows
// (a shared database holds other models' records too), and a spec a target cannot run is an error
// naming the file and label, not a silent skip.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { defaultTiles } from '../../codegen/default-tiles.js';
import { planLayer } from '../../codegen/plan/index.js';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import type { KernelSpec, Target } from '../../dsl/types.js';
import { recordsForSpecs } from '../../export/user-spec.js';
import { familyOfGemmUri, type TuneRecord } from '../../tuner/records.js';

const sm89 = resolveGpu('sm_89');
const sm86 = resolveGpu('sm_86');
const proj = layer({ label: 'proj', dtype: 'fp16', lowRank: 16 });
const other = layer({ label: 'flux', lowRank: 128 });

function record(spec: KernelSpec, target: Target): TuneRecord {
  const plan = planLayer(spec, defaultTiles(spec, target), target);
  return { family: familyOfGemmUri(plan.gemm.uri), gemmUri: plan.gemm.uri, target: { id: target.id, arch: target.arch, name: target.name } } as unknown as TuneRecord;
}

describe('recordsForSpecs', () => {
  it('keeps the records of the specs’ families on the targets built, and only those', () => {
    const mine = record(proj, sm89);
    const kept = recordsForSpecs([mine, record(other, sm89), record(proj, sm86)], [proj], [sm89], 'my.mts');
    expect(kept).toEqual([mine]);
  });

  it('names the file, label and target when a spec cannot run there', () => {
    expect(() => recordsForSpecs([], [layer({ label: 'gate' })], [resolveGpu('sm_75')], 'my.mts')).toThrow(/--spec my\.mts: gate on sm_75: /);
  });
});

describe('build --spec through the CLI', () => {
  it('refuses --model with --spec and a missing spec file, with exit code 2', async () => {
    const cli = path.resolve('bin/svdq-codegen.js');
    const fixture = path.resolve('test/dsl/fixtures/good-specs.ts');
    const a = await execa('node', [cli, 'build', '--gpu', 'sm_89', '--spec', fixture, '--model', 'flux.1-dev', '--out', '/tmp/svdq-never'], { reject: false });
    expect(a.exitCode).toBe(2);
    expect(a.stderr).toMatch(/--model: not allowed with --spec/);
    const b = await execa('node', [cli, 'build', '--gpu', 'sm_89', '--spec', 'nope.mts', '--out', '/tmp/svdq-never'], { reject: false });
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toMatch(/nope\.mts: spec file not found/);
  });
});
