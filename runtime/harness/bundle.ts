// The TypeScript side of the harness bundle (runtime/harness/bundle.h): a directory with manifest.txt and
// one raw .bin per input buffer; after a run, one .bin per output and result.json.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../dsl/errors.js';

export interface BundleBuffer {
  name: string;
  /** Input bytes; omitted for buffers the kernels write. */
  data?: ArrayBufferView;
  /** Size of a kernel-written buffer (inputs take data.byteLength). */
  bytes?: number;
  /** Downloaded after the run. */
  output?: boolean;
}

export interface Bundle {
  scalars: Record<string, number>;
  buffers: BundleBuffer[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export async function writeBundle(dir: string, bundle: Bundle): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const lines = ['# svdq harness bundle v1'];
  for (const [name, value] of Object.entries(bundle.scalars)) {
    if (!NAME.test(name) || !Number.isFinite(value)) throw new Error(`bundle scalar '${name}' = ${value} is not valid`);
    lines.push(`scalar ${name} ${value}`);
  }
  for (const b of bundle.buffers) {
    if (!NAME.test(b.name)) throw new Error(`bundle buffer name '${b.name}' is not valid`);
    if (b.data) {
      const bytes = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
      await fs.writeFile(path.join(dir, `${b.name}.bin`), bytes);
      lines.push(`buffer ${b.name} ${bytes.byteLength} ${b.name}.bin`);
    } else {
      lines.push(`buffer ${b.name} ${b.bytes ?? 0} -`);
    }
  }
  for (const b of bundle.buffers) if (b.output) lines.push(`output ${b.name}`);
  await fs.writeFile(path.join(dir, 'manifest.txt'), `${lines.join('\n')}\n`);
}

/** Bytes of one downloaded output, as a fresh (aligned) buffer. */
export async function readOutput(outDir: string, name: string): Promise<ArrayBuffer> {
  const file = path.join(outDir, `${name}.bin`);
  const bytes = await fs.readFile(file).catch(() => {
    throw new UserError(`harness output '${name}' is missing (${file}); the run did not complete`);
  });
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

export interface TimingSummary {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  p10_ms: number;
  p90_ms: number;
  mean_ms: number;
  reps: number;
}

export interface HarnessTiming {
  /** 'cuda-events' on a GPU; 'emulator-wall' is the emulator's wall clock and says nothing about a GPU. */
  clock: 'cuda-events' | 'emulator-wall';
  total: TimingSummary;
  act: TimingSummary;
  gemm: TimingSummary;
  warmup: number;
  rotation_sets: number;
  set_bytes: number;
  samples_ms?: number[];
}

export interface HarnessResult {
  harness: 'layer_main';
  gemm_launcher: string;
  act_launcher?: string;
  emulated: boolean;
  act_status: number;
  gemm_status: number;
  cuda_error: string;
  timing?: HarnessTiming;
  timing_error?: { act_status: number; gemm_status: number; cuda_error: string };
}

export async function readResult(outDir: string): Promise<HarnessResult | undefined> {
  const text = await fs.readFile(path.join(outDir, 'result.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as HarnessResult);
}

export const STATUS_NAMES = ['SVDQ_OK', 'SVDQ_ERR_INVALID_ARG', 'SVDQ_ERR_LAUNCH', 'SVDQ_ERR_UNSUPPORTED'];
export const statusName = (s: number): string => STATUS_NAMES[s] ?? `status ${s}`;
