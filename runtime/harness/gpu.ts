// Is there a CUDA GPU here? Asked of nvidia-smi (driver and device in one question); never throws, so
// `tune`/`run` can fall back or explain instead of crashing on machines without one (like CI).
import { execa } from 'execa';
import { UserError } from '../../dsl/errors.js';
import type { SmArch } from '../../dsl/types.js';

export type GpuInfo = { present: false; reason: string } | { present: true; name: string; arch: SmArch | undefined; computeCapability: string };

/** Compute capability → the arch this project builds for it (a/f suffixes where the 4-bit path needs them). */
const ARCH_OF_CC: Record<string, SmArch> = {
  '7.5': 'sm_75',
  '8.0': 'sm_80',
  '8.6': 'sm_86',
  '8.7': 'sm_86',
  '8.9': 'sm_89',
  '9.0': 'sm_90',
  '10.0': 'sm_100a',
  '12.0': 'sm_120a',
  '12.1': 'sm_121a',
};

let cached: Promise<GpuInfo> | undefined;

/** The first visible GPU, or why there is none. Cached per process (`fresh` asks again). */
export function detectGpu(options: { fresh?: boolean } = {}): Promise<GpuInfo> {
  if (options.fresh) cached = undefined;
  cached ??= probe();
  return cached;
}

async function probe(): Promise<GpuInfo> {
  if (process.env.CUDA_VISIBLE_DEVICES !== undefined && /^\s*(-1)?\s*$/.test(process.env.CUDA_VISIBLE_DEVICES)) {
    return { present: false, reason: 'CUDA_VISIBLE_DEVICES hides every device' };
  }
  try {
    const r = await execa('nvidia-smi', ['--query-gpu=name,compute_cap', '--format=csv,noheader'], {
      reject: false,
      timeout: 10_000,
      env: { LC_ALL: 'C' },
    });
    if (r.failed && (r as { code?: string }).code === 'ENOENT') return { present: false, reason: 'nvidia-smi not found: no NVIDIA driver installed' };
    if (r.exitCode !== 0) {
      const why = `${r.stderr}\n${r.stdout}`.split('\n').map((s) => s.trim()).find((s) => s.length > 0);
      return { present: false, reason: `nvidia-smi failed: ${why ?? `exit ${r.exitCode ?? r.signal}`}` };
    }
    const line = String(r.stdout).split('\n').map((s) => s.trim()).find((s) => s.length > 0);
    if (!line) return { present: false, reason: 'nvidia-smi lists no GPU' };
    const [name, cc] = line.split(',').map((s) => s.trim());
    return { present: true, name, computeCapability: cc ?? '', arch: ARCH_OF_CC[cc ?? ''] };
  } catch (e) {
    return { present: false, reason: `cannot run nvidia-smi (${(e as Error).message.split('\n')[0]})` };
  }
}

/** Throws the user-facing error when `--backend gpu` cannot run here (no GPU, or a different arch). */
export async function requireGpu(arch?: SmArch): Promise<{ name: string; arch: SmArch | undefined }> {
  const gpu = await detectGpu();
  if (!gpu.present) throw new UserError(`--backend gpu: no CUDA GPU found (${gpu.reason}); use --backend emu`);
  if (arch && gpu.arch && gpu.arch !== arch) {
    throw new UserError(`--gpu ${arch}: this machine's GPU is ${gpu.name} (${gpu.arch}); pass --gpu ${gpu.arch} or use --backend emu`);
  }
  return gpu;
}
