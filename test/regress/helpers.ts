// Shared by the regress tests: the sm_89 FLUX.1-dev subjects and a freshly generated generated/ tree
// (the committed one may lag the templates while they change; source replay is tested against its own copy).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateCatalog } from '../../codegen/generate.js';
import { selectSubjects } from '../../regress/subjects.js';
import type { RegressSubject } from '../../regress/types.js';
import type { GpuInfo } from '../../runtime/harness/gpu.js';

export const NO_GPU: GpuInfo = { present: false, reason: 'test: no GPU' };

export function fluxSubjects(): RegressSubject[] {
  return selectSubjects({ gpus: ['sm_89'], catalogs: ['flux.1-dev'], budget: 'quick' });
}

export function subjectEndingWith(suffix: string): RegressSubject {
  const s = fluxSubjects().find((x) => x.id.endsWith(suffix));
  if (!s) throw new Error(`no sm_89 FLUX.1-dev subject ends with ${suffix}`);
  return s;
}

/** The bias+low-rank subject (signed int4) and the GELU → qnext one. */
export const plainSubject = (): RegressSubject => subjectEndingWith('w4a4_int4g64_bf16_r32_sm89_bias-lora');
export const geluSubject = (): RegressSubject => subjectEndingWith('bias-lora-gelu-qnext.int4u4g64.r32');

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `svdq-regress-${prefix}-`));
}

/** A fresh generated/ tree (what `gen` writes now) in a temp directory. */
export async function freshGenerated(): Promise<string> {
  const dir = await tempDir('generated');
  await generateCatalog({ outDir: dir });
  return dir;
}
