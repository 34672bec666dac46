// The unfused low-rank branch on the emulator: the two separate 16-bit kernels of
// runtime/include/svdq/unfused/ (lora_down, then lora_up's read-modify-write of y) built with g++ against
// runtime/emu, run through unfused_main.cpp, with each launch's counters and checker findings.
// Used by bench/fusion.ts (global bytes, fused vs unfused) and test/runtime/unfused.test.ts.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../dsl/errors.js';
import type { Dtype16 } from '../../../dsl/types.js';
import { buildEmuProgram, runEmuProgram, type EmuLaunch, type EmuReport } from '../../emu/build.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, 'unfused_main.cpp');

export interface UnfusedInputs {
  M: number;
  N: number;
  K: number;
  /** Multiple of 32 (the kernels' 32-rank chunk). */
  rank: number;
  dtype: Dtype16;
  /** [M,K] bits. */
  x: Uint16Array;
  /** [rank,K] bits (PEFT lora_A orientation, docs/layouts.md logical tensors). */
  loraDown: Uint16Array;
  /** [N,rank] bits. */
  loraUp: Uint16Array;
  /** [rank/16] fp32 (default all 1). */
  loraScales?: Float32Array;
  /** [M,N] bits: the 4-bit layer's output, updated in place by lora_up. */
  y: Uint16Array;
}

export interface UnfusedRunResult {
  /** [M,rank] fp32 X·L1 as lora_down wrote it. */
  loraAct: Float32Array;
  /** [M,N] bits after lora_up. */
  y: Uint16Array;
  launches: { down: EmuLaunch; up: EmuLaunch };
  findings: EmuReport[];
}

/** Builds (or finds in the cache) the driver for one rank and dtype; returns the binary's path. */
export function buildUnfused(rank: number, dtype: Dtype16): Promise<string> {
  checkRank(rank);
  return buildEmuProgram({
    sources: [MAIN],
    includeDirs: [path.join(HERE, '..', '..', 'include')],
    defines: { SVDQ_UNFUSED_RANK: String(rank), SVDQ_UNFUSED_BF16: dtype === 'bf16' ? '1' : '0' },
    optimize: true,
  });
}

function checkRank(rank: number): void {
  if (!Number.isInteger(rank) || rank < 32 || rank % 32 !== 0 || rank > 1024) {
    throw new UserError(`rank: ${rank} is not supported by the unfused kernels; expected a multiple of 32 in [32, 1024]`);
  }
}

function checkInputs(i: UnfusedInputs): void {
  checkRank(i.rank);
  if (!Number.isInteger(i.M) || i.M < 1) throw new UserError(`M: ${i.M} must be a positive integer`);
  if (!Number.isInteger(i.N) || i.N < 32 || i.N % 32 !== 0) throw new UserError(`N: ${i.N} must be a positive multiple of 32 (the up kernel's column group)`);
  if (!Number.isInteger(i.K) || i.K < 32 || i.K % 32 !== 0) throw new UserError(`K: ${i.K} must be a positive multiple of 32 (the down kernel's k chunk)`);
  const want: [string, { length: number } | undefined, number][] = [
    ['x', i.x, i.M * i.K],
    ['loraDown', i.loraDown, i.rank * i.K],
    ['loraUp', i.loraUp, i.N * i.rank],
    ['y', i.y, i.M * i.N],
    ['loraScales', i.loraScales, i.rank / 16],
  ];
  for (const [name, a, n] of want) {
    if (a && a.length !== n) throw new UserError(`${name}: ${a.length} elements, expected ${n}`);
  }
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Runs lora_down then lora_up on the emulator (counters and checker on). */
export async function runUnfusedLowRank(inp: UnfusedInputs, o: { binary?: string; env?: Record<string, string> } = {}): Promise<UnfusedRunResult> {
  checkInputs(inp);
  const binary = o.binary ?? (await buildUnfused(inp.rank, inp.dtype));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-unfused-'));
  try {
    const scales = inp.loraScales ?? new Float32Array(inp.rank / 16).fill(1);
    const files: [string, ArrayBufferView][] = [
      ['x', inp.x],
      ['lora_down', inp.loraDown],
      ['lora_scales', scales],
      ['lora_up', inp.loraUp],
      ['y', inp.y],
    ];
    await Promise.all(files.map(([n, a]) => fs.writeFile(path.join(dir, `${n}.bin`), bytesOf(a))));
    const run = await runEmuProgram(binary, [dir, String(inp.M), String(inp.N), String(inp.K)], { env: { SVDQ_EMU_QUIET: '1', ...o.env } });
    const [down, up] = run.reports;
    if (run.code !== 0 || !down || !up) {
      const finding = run.reports.flatMap((l) => l.reports)[0];
      throw new UserError(`unfused low-rank run failed (exit ${run.code}): ${run.stderr.trim()}${finding ? ` (first finding: ${finding.kind} in ${finding.kernel}: ${finding.message})` : ''}`);
    }
    const act = await fs.readFile(path.join(dir, 'lora_act_out.bin'));
    const y = await fs.readFile(path.join(dir, 'y_out.bin'));
    return {
      loraAct: new Float32Array(act.buffer.slice(act.byteOffset, act.byteOffset + act.byteLength)),
      y: new Uint16Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength)),
      launches: { down, up },
      findings: [...down.reports, ...up.reports],
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
