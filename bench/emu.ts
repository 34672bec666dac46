// Emulator speed: a register-fragment INT4 GEMM (runtime/emu/bench/int4_gemm.cu, ~1 G multiply-
// accumulates by default) run under the emulator on one OS thread, with the checker and counters on
// (the configuration tests use) and off. Reports emulated MAC/s per core from the program's process
// CPU time (robust on a busy machine) and from wall time. Goal: >= 250 M MAC/s per core, checks on.
import path from 'node:path';
import { Bench } from 'tinybench';
import { buildEmuProgram, EMU_DIR, runEmuProgram } from '../runtime/emu/build.js';

export interface EmuBenchResult {
  name: string;
  macs: number;
  /** Median over iterations of emulated MACs per CPU-second of the one emulating thread. */
  macPerCpuSecond: number;
  /** Median over iterations of emulated MACs per wall-second of the launch. */
  macPerWallSecond: number;
  iterations: number;
}

export interface EmuBenchOptions {
  m?: number;
  n?: number;
  k?: number;
  iterations?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

export async function benchEmu(options: EmuBenchOptions = {}): Promise<EmuBenchResult[]> {
  const m = options.m ?? 1024;
  const n = options.n ?? 1024;
  const k = options.k ?? 1024;
  const iterations = options.iterations ?? 3;
  const binary = await buildEmuProgram({ sources: [path.join(EMU_DIR, 'bench', 'int4_gemm.cu')] });

  const configs: Array<{ name: string; env: Record<string, string> }> = [
    { name: `int4 gemm ${m}x${n}x${k}, 1 thread, checks+counters`, env: { SVDQ_EMU_THREADS: '1' } },
    { name: `int4 gemm ${m}x${n}x${k}, 1 thread, no checks`, env: { SVDQ_EMU_THREADS: '1', SVDQ_EMU_CHECK: '0', SVDQ_EMU_COUNTERS: '0' } },
  ];
  const samples = new Map<string, { macs: number; cpu: number[]; wall: number[] }>();
  const bench = new Bench({ name: 'CPU emulator', iterations, time: 0, warmup: false });
  for (const c of configs) {
    samples.set(c.name, { macs: 0, cpu: [], wall: [] });
    bench.add(c.name, async () => {
      const r = await runEmuProgram(binary, [String(m), String(n), String(k)], { env: c.env });
      const line = /macs (\d+) seconds ([\d.]+) cpu ([\d.]+)/.exec(r.stdout);
      if (r.code !== 0 || !line) throw new Error(`emulated GEMM failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      const s = samples.get(c.name)!;
      s.macs = Number(line[1]);
      s.wall.push(Number(line[1]) / Number(line[2]));
      s.cpu.push(Number(line[1]) / Number(line[3]));
    });
  }
  await bench.run();
  for (const t of bench.tasks) {
    const result = t.result as { error?: unknown } | undefined;
    if (result?.error) throw result.error;
  }

  const results = configs.map((c) => {
    const s = samples.get(c.name)!;
    return { name: c.name, macs: s.macs, macPerCpuSecond: median(s.cpu), macPerWallSecond: median(s.wall), iterations: s.cpu.length };
  });
  console.log(bench.name);
  console.table(
    results.map((r) => ({
      task: r.name,
      'M MAC/s per core (cpu)': (r.macPerCpuSecond / 1e6).toFixed(0),
      'M MAC/s (wall)': (r.macPerWallSecond / 1e6).toFixed(0),
      runs: r.iterations,
    })),
  );
  return results;
}

// `npx tsx bench/emu.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  await benchEmu();
}
