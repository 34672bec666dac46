// A streaming safetensors writer for `pack`: the header (every tensor's name, dtype, shape and offsets)
// is known before any data is converted, so it is written first and tensors are then appended one at a
// time; nothing holds more than one layer in memory. Output goes to a temp file beside the target,
// fsynced and renamed over it only when every planned byte was written (atomic: a crash or an error
// leaves the old file, or none, never half a checkpoint).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../dsl/errors.js';
import { ST_DTYPE_BYTES, type StDtype } from '../../codegen/safetensors.js';

export interface PlannedTensor {
  name: string;
  dtype: StDtype;
  shape: number[];
}

export const plannedBytes = (t: PlannedTensor): number => t.shape.reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[t.dtype];

/** The header bytes (size prefix + JSON padded with spaces to a multiple of 8, like the reference writer). */
export function encodeHeader(tensors: readonly PlannedTensor[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new UserError(`pack: output tensor name '${t.name}' is reserved or repeated`);
    const bytes = plannedBytes(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([prefix, body]);
}

export class StreamingSafetensorsWriter {
  private next = 0;
  private constructor(
    readonly file: string,
    private readonly tmp: string,
    private readonly handle: fs.FileHandle,
    private readonly tensors: readonly PlannedTensor[],
  ) {}

  static async create(file: string, tensors: readonly PlannedTensor[], metadata: Record<string, string>): Promise<StreamingSafetensorsWriter> {
    const header = encodeHeader(tensors, metadata);
    const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await fs.open(tmp, 'w').catch((e: NodeJS.ErrnoException) => {
      throw new UserError(`${file}: cannot write (${e.code ?? e.message})`);
    });
    const w = new StreamingSafetensorsWriter(file, tmp, handle, tensors);
    try {
      await handle.write(header);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w;
  }

  /** Name of the tensor the writer expects next (tensors are written in planned order). */
  get expected(): string | undefined {
    return this.tensors[this.next]?.name;
  }

  /** Appends the next tensor's bytes; `chunks` lets large pass-through tensors be copied piecewise. */
  async write(name: string, chunks: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const t = this.tensors[this.next];
    if (!t || t.name !== name) throw new Error(`pack writer: got tensor '${name}', expected '${t?.name ?? '(end)'}'`);
    let written = 0;
    const put = async (c: Uint8Array) => {
      if (c.byteLength > 0) await this.handle.write(c);
      written += c.byteLength;
    };
    if (chunks instanceof Uint8Array) await put(chunks);
    else for await (const c of chunks) await put(c);
    if (written !== plannedBytes(t)) throw new Error(`pack writer: tensor '${name}' has ${written} bytes, planned ${plannedBytes(t)}`);
    this.next++;
  }

  /** fsync + rename over the target; refuses when a planned tensor was not written. */
  async commit(): Promise<void> {
    if (this.next !== this.tensors.length) throw new Error(`pack writer: ${this.tensors.length - this.next} planned tensor(s) not written (next: '${this.expected}')`);
    await this.handle.sync();
    await this.handle.close();
    await fs.rename(this.tmp, this.file);
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
  }
}
