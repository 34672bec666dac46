// The compiled kernel's main-loop counts, as the cost model reads them: the adapter between the tuner and
// the kernel inspector (issue "Kernel speed you can see without a GPU", codegen/inspect). Until that
// branch merges, this file reads the counts itself, the way reference/sass-inspection.md describes:
// SASS from the cubin (CUDA 11.8 nvdisasm, ELF header patched in a temporary copy) where a disassembler
// knows the arch, PTX otherwise (sm_120a: "counts: 'ptx'", said so in the record). On merge, `inspectKernel`
// becomes a call to `inspectUri` and PIPE_RATES moves to dsl/targets.ts's issue-model block.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { compileCuda } from '../codegen/nvcc.js';
import type { ActPlan, GemmPlan } from '../codegen/plan/index.js';
import { renderKernel } from '../codegen/render.js';
import type { SmArch, Target } from '../dsl/types.js';

const run = promisify(execFile);

/** The part of codegen/inspect's KernelInspection the cost model uses. */
export interface MainLoopCounts {
  /** 4-bit MMAs in the loop body, in m16n8k64 units (Turing's m8n8k32 counts ¼). */
  mmas: number;
  /** Every instruction of the body (not-taken alternatives included: an upper bound, stable). */
  instructions: number;
  perMma: number;
  /** Instructions per MMA by pipe class: tensor, fp32, int, conv, mufu, lsu, shfl, branch, other. */
  byClass: Record<string, number>;
  barriersPerIteration: number;
  hasMufu: boolean;
  hasCall: boolean;
  hasDivision: boolean;
}

export interface CompiledCounts {
  uri: string;
  /** 'sass' = disassembled machine code; 'ptx' = PTX-level counts (no disassembler for this arch). */
  counts: 'sass' | 'ptx';
  mainLoop: MainLoopCounts | null;
}

/** Lanes per clock per SM of each pipe class (CUDA C++ Programming Guide, "Arithmetic Instructions"
 * throughput table, via reference/sass-inspection.md; lsu assumed = 32 shared-memory banks). Classes
 * without a rate here (i2fp, branch, other) cost issue slots only. */
export const PIPE_RATES: Record<string, Record<string, number>> = {
  sm_75: { fp32: 64, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_80: { fp32: 64, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_86: { fp32: 128, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_89: { fp32: 128, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_90: { fp32: 128, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_100a: { fp32: 128, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
  sm_120a: { fp32: 128, int: 64, conv: 16, mufu: 16, shfl: 32, lsu: 32 },
};

/** Archs CUDA 11.8's nvdisasm reads (sass-inspection.md: sm_100+ and sm_120a are unknown to it). */
const SASS_ARCHS: readonly SmArch[] = ['sm_75', 'sm_80', 'sm_86', 'sm_89', 'sm_90'];

function disassembler(): string | undefined {
  const dirs = [process.env.CUDA_HOME && path.join(process.env.CUDA_HOME, 'bin'), '/opt/svdq-cuda-tools/bin'].filter(Boolean) as string[];
  return dirs.map((d) => path.join(d, 'nvdisasm')).find((p) => existsSync(p));
}

/** A cubin's ELF header rewritten so CUDA 11.8's tools read an nvcc-13 cubin (sass-inspection.md). */
export function patchCubinHeader(cubin: Buffer, arch: SmArch): Buffer {
  const out = Buffer.from(cubin);
  const sm = Number(arch.replace(/^sm_(\d+).*$/, '$1'));
  out[7] = 0x33;
  out[8] = 7;
  out.writeUInt32LE(((sm << 16) | 0x500 | sm) >>> 0, 0x30);
  return out;
}

interface Insn {
  addr: number;
  op: string;
  text: string;
}

/** Pipe class of a SASS opcode (first dotted part) or a PTX instruction. */
export function sassClass(op: string): string {
  const base = op.split('.')[0];
  if (/^(IMMA|HMMA|QMMA|OMMA|DMMA)$/.test(base)) return 'tensor';
  if (/^(FADD|FMUL|FFMA|FMNMX|FSET|FSETP|FSEL|FCHK|HADD2|HMUL2|HFMA2|FSWZADD)$/.test(base)) return 'fp32';
  // I2FP.F32.S32 (sm_86+) is a newer conversion form whose pipe and rate the guide's table does not
  // give (sass-inspection.md): its own class, without a rate, so it costs issue slots only (assumed).
  if (base === 'I2FP' || base === 'F2FP') return 'i2fp';
  if (/^(I2F|F2I|F2F|I2I|FRND)$/.test(base)) return 'conv';
  if (base === 'MUFU') return 'mufu';
  if (/^(LD|LDG|LDS|LDL|LDC|LDSM|LDGSTS|LDGDEPBAR|ST|STG|STS|STL|ATOM|ATOMS|ATOMG|RED|ULDC)$/.test(base)) return 'lsu';
  if (base === 'SHFL') return 'shfl';
  if (/^(BRA|BRX|JMP|CALL|RET|EXIT|BSSY|BSYNC|BAR|WARPSYNC|DEPBAR|YIELD|BMOV)$/.test(base)) return 'branch';
  if (/^(IADD3|IADD|IMAD|IMUL|LOP3|LOP|SHF|SHL|SHR|LEA|ISETP|IMNMX|SEL|MOV|PRMT|IABS|POPC|FLO|BREV|P2R|R2P|PLOP3|VOTE|S2R|CS2R|S2UR|UIADD3|UMOV|ULOP3|USHF|ULEA|UISETP|USEL|UIMAD|UPRMT|R2UR|IDP|VIADD|VIMNMX)$/.test(base) || base.startsWith('U')) return 'int';
  return 'other';
}

export function ptxClass(op: string): string {
  if (op.startsWith('mma') || op.startsWith('wmma')) return 'tensor';
  if (/^(ld|st|cp|ldmatrix|stmatrix|atom|red|prefetch)\b/.test(op)) return 'lsu';
  if (op.startsWith('cvt')) return 'conv';
  if (/^(ex2|rcp|tanh|lg2|sqrt|rsqrt|sin|cos)\.approx/.test(op) || /^(ex2|tanh|lg2|sin|cos)\./.test(op)) return 'mufu';
  if (op.startsWith('shfl')) return 'shfl';
  if (/^(bra|bar|call|ret|exit)\b/.test(op)) return 'branch';
  if (/\.(f32|f16|bf16|f16x2|bf16x2)$/.test(op) && /^(add|sub|mul|fma|min|max|neg|abs|setp|selp|div)/.test(op)) return 'fp32';
  return 'int';
}

/** The loop body holding the most MMAs (innermost such loop): the main loop. */
function mainLoopOf(insns: Insn[], labels: Map<string, number>, isMma: (i: Insn) => number, branchTarget: (i: Insn) => string | undefined, classOf: (op: string) => string): MainLoopCounts | null {
  let best: { start: number; end: number; mmas: number } | undefined;
  insns.forEach((ins, idx) => {
    const target = branchTarget(ins);
    if (target === undefined) return;
    const start = labels.get(target);
    if (start === undefined || start > idx) return; // forward branch
    let mmas = 0;
    for (let j = start; j <= idx; j++) mmas += isMma(insns[j]);
    if (mmas === 0) return;
    if (!best || mmas > best.mmas || (mmas === best.mmas && idx - start < best.end - best.start)) best = { start, end: idx, mmas };
  });
  if (!best) return null;
  const body = insns.slice(best.start, best.end + 1);
  const byCount: Record<string, number> = {};
  for (const i of body) {
    const c = classOf(i.op);
    byCount[c] = (byCount[c] ?? 0) + 1;
  }
  const byClass = Object.fromEntries(Object.entries(byCount).map(([k, v]) => [k, v / best!.mmas]));
  return {
    mmas: best.mmas,
    instructions: body.length,
    perMma: body.length / best.mmas,
    byClass,
    barriersPerIteration: body.filter((i) => /^(BAR|bar)\b/.test(i.op) && !/\.arrive/.test(i.op)).length,
    hasMufu: body.some((i) => classOf(i.op) === 'mufu'),
    hasCall: body.some((i) => /^(CALL|call)\b/.test(i.op)),
    hasDivision: body.some((i) => /^div\b/.test(i.op) || /__internal.*div/i.test(i.text)),
  };
}

/** Main-loop counts from nvdisasm output. */
export function countSass(sass: string): MainLoopCounts | null {
  const insns: Insn[] = [];
  const labels = new Map<string, number>();
  for (const line of sass.split('\n')) {
    const label = /^\s*(\.L_x_\d+):/.exec(line);
    if (label) {
      labels.set(label[1], insns.length);
      continue;
    }
    const m = /^\s*\/\*([0-9a-f]{4,})\*\/\s+(?:@!?U?P[T\d]\s+)?([A-Z][A-Z0-9_.]*)\b(.*?);/.exec(line);
    if (!m || m[2] === 'NOP') continue;
    insns.push({ addr: parseInt(m[1], 16), op: m[2], text: m[3] });
  }
  const mmaWeight = (i: Insn) => (i.op.startsWith('IMMA.16864') || /^(QMMA|OMMA)\.16864/.test(i.op) ? 1 : i.op.startsWith('IMMA.8832') ? 0.25 : 0);
  const target = (i: Insn) => (i.op.startsWith('BRA') ? /`\((\.L_x_\d+)\)/.exec(i.text)?.[1] : undefined);
  return mainLoopOf(insns, labels, mmaWeight, target, sassClass);
}

/** Main-loop counts from PTX (where no disassembler reads the arch). */
export function countPtx(ptx: string): MainLoopCounts | null {
  const insns: Insn[] = [];
  const labels = new Map<string, number>();
  for (const raw of ptx.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const label = /^(\$L__\w+):$/.exec(line);
    if (label) {
      labels.set(label[1], insns.length);
      continue;
    }
    if (!line.endsWith(';') || line.startsWith('.') || line.startsWith('{') || line.startsWith('}')) continue;
    const m = /^(?:@!?%\w+\s+)?([a-z][\w.:]*)\s*(.*);$/.exec(line);
    if (!m) continue;
    insns.push({ addr: insns.length, op: m[1], text: m[2] });
  }
  const mmaWeight = (i: Insn) => (i.op.startsWith('mma') && i.op.includes('m16n8k64') ? 1 : i.op.startsWith('mma') && i.op.includes('m8n8k32') ? 0.25 : 0);
  const target = (i: Insn) => (i.op.startsWith('bra') ? /^(\$L__\w+)/.exec(i.text.trim())?.[1] : undefined);
  return mainLoopOf(insns, labels, mmaWeight, target, ptxClass);
}

/** Counts of one planned kernel (compiles through the content-addressed cache). */
export async function inspectKernel(plan: GemmPlan | ActPlan, target: Target): Promise<CompiledCounts> {
  const source = renderKernel(plan);
  const tool = disassembler();
  if (tool && SASS_ARCHS.includes(target.arch)) {
    const cubin = await compileCuda({ source, arch: target.arch, kind: 'cubin' });
    const dir = await mkdtemp(path.join(tmpdir(), 'svdq-sass-'));
    try {
      const file = path.join(dir, 'k.cubin');
      await writeFile(file, patchCubinHeader(await readFile(cubin.path), target.arch));
      const { stdout } = await run(tool, ['-c', file], { maxBuffer: 256 * 1024 * 1024 });
      return { uri: plan.uri, counts: 'sass', mainLoop: countSass(stdout) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const ptx = await compileCuda({ source, arch: target.arch, kind: 'ptx' });
  return { uri: plan.uri, counts: 'ptx', mainLoop: countPtx(await readFile(ptx.path, 'utf8')) };
}

/** Counts many kernels (the signature `tune` takes, so tests can substitute their own). */
export type KernelInspector = (plans: readonly (GemmPlan | ActPlan)[], target: Target, concurrency?: number) => Promise<Map<string, CompiledCounts>>;

export const inspectAll: KernelInspector = async (plans, target, concurrency) => {
  const unique = [...new Map(plans.map((p) => [p.uri, p])).values()];
  const limit = pLimit(Math.max(1, concurrency ?? 2));
  const out = await Promise.all(unique.map((p) => limit(() => inspectKernel(p, target))));
  return new Map(out.map((c) => [c.uri, c]));
};
