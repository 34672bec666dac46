// safetensors reader and writer (https://github.com/huggingface/safetensors, format: 8-byte little-endian
// header size N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {…}},
// then the data buffer). The reader validates the whole header before touching data and then reads one
// tensor at a time through a file handle, so a multi-GiB checkpoint never sits in memory. Every defect
// (truncation, bad JSON, overlapping or out-of-range offsets, wrong sizes) is a UserError naming the
// file and, where there is one, the tensor.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../dsl/errors.js';
import { numel, tensor, type Tensor, type TensorDtype } from '../numerics/tensors.js';

export const ST_DTYPE_BYTES = {
  BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
} as const;
export type StDtype = keyof typeof ST_DTYPE_BYTES;

/** Same bound as the reference implementation: a header above 100 MB is a corrupt or hostile file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface StTensorInfo {
  name: string;
  dtype: StDtype;
  shape: number[];
  /** Byte range inside the data buffer (relative to its start). */
  begin: number;
  end: number;
}

export interface StHeader {
  metadata: Record<string, string>;
  /** In data order (ascending offsets). */
  tensors: StTensorInfo[];
  /** Absolute file offset of the data buffer. */
  dataStart: number;
}

const TO_REFERENCE: Partial<Record<StDtype, TensorDtype>> = { F16: 'fp16', BF16: 'bf16', F32: 'f32', F64: 'f64', I8: 'int8', U8: 'uint8', I32: 'int32' };
const FROM_REFERENCE: Record<TensorDtype, StDtype> = { fp16: 'F16', bf16: 'BF16', f32: 'F32', f64: 'F64', int8: 'I8', uint8: 'U8', int32: 'I32' };

export function toReferenceDtype(dtype: StDtype): TensorDtype | undefined {
  return TO_REFERENCE[dtype];
}
export function fromReferenceDtype(dtype: TensorDtype): StDtype {
  return FROM_REFERENCE[dtype];
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The first key that occurs twice in the top-level object of valid JSON text (undefined: none). */
export function repeatedTopLevelKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}

/**
 * Validates a header (JSON bytes) against the size of the data buffer that follows it. Offsets must be
 * sorted, contiguous from 0 and cover the buffer exactly (no gaps, no overlap), and each tensor's span
 * must equal numel × dtype size.
 */
export function parseHeader(json: Uint8Array, dataBytes: number, file: string): StHeader {
  const fail = (what: string): never => {
    throw new UserError(`${file}: not a valid safetensors file: ${what}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    return fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return fail('header is not a JSON object');
  // JSON.parse keeps the last of two equal keys: a repeated tensor name would silently hide a tensor.
  const repeated = repeatedTopLevelKey(new TextDecoder().decode(json));
  if (repeated !== undefined) return fail(`tensor name ${JSON.stringify(repeated)} appears twice in the header`);
  let metadata: Record<string, string> = {};
  const tensors: StTensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') return fail(`__metadata__ value for '${k}' is not a string`);
      }
      // fromEntries defines own properties, so a key like "__proto__" stays data.
      metadata = Object.fromEntries(Object.entries(entry as Record<string, string>));
      continue;
    }
    const where = `tensor '${name}'`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`${where} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in ST_DTYPE_BYTES)) {
      return fail(`${where} has dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(ST_DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) return fail(`${where} has shape ${JSON.stringify(shape)}; expected an array of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegInt) || offsets[0] > offsets[1]) {
      return fail(`${where} has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end`);
    }
    const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * ST_DTYPE_BYTES[dtype as StDtype];
    if (!Number.isSafeInteger(bytes) || bytes !== offsets[1] - offsets[0]) {
      return fail(`${where} spans ${offsets[1] - offsets[0]} bytes but shape [${(shape as number[]).join(',')}] × ${dtype} needs ${bytes}`);
    }
    tensors.push({ name, dtype: dtype as StDtype, shape: shape as number[], begin: offsets[0], end: offsets[1] });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of tensors) {
    if (t.end > dataBytes) return fail(`tensor '${t.name}' ends at byte ${t.end} but the data buffer holds ${dataBytes} bytes (file truncated?)`);
    if (t.begin < cursor) return fail(`tensor '${t.name}' [${t.begin}, ${t.end}) overlaps the previous tensor (which ends at ${cursor})`);
    if (t.begin > cursor) return fail(`gap in the data buffer before tensor '${t.name}' (bytes ${cursor}..${t.begin} belong to no tensor)`);
    cursor = t.end;
  }
  if (cursor !== dataBytes) return fail(`the tensors cover ${cursor} bytes but the data buffer holds ${dataBytes} (truncated or trailing bytes)`);
  return { metadata, tensors, dataStart: 0 };
}

/** An open safetensors file: the validated header, and tensors read one at a time on demand. */
export class SafetensorsFile {
  private readonly byName: Map<string, StTensorInfo>;

  private constructor(
    readonly path: string,
    readonly header: StHeader,
    private readonly handle: fs.FileHandle,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(file: string): Promise<SafetensorsFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      throw new UserError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      const size = (await handle.stat()).size;
      if (size < 8) throw new UserError(`${file}: not a valid safetensors file: ${size} bytes, shorter than the 8-byte header size`);
      const prefix = Buffer.alloc(8);
      await readExactly(handle, prefix, 0, file);
      const headerBytes = prefix.readBigUInt64LE(0);
      if (headerBytes > BigInt(MAX_HEADER_BYTES)) {
        throw new UserError(`${file}: not a valid safetensors file: header size ${headerBytes} exceeds ${MAX_HEADER_BYTES} bytes`);
      }
      const n = Number(headerBytes);
      if (n < 2) throw new UserError(`${file}: not a valid safetensors file: header size ${n} is too small for a JSON object`);
      if (8 + n > size) throw new UserError(`${file}: not a valid safetensors file: header of ${n} bytes runs past the end of the ${size}-byte file`);
      const json = Buffer.alloc(n);
      await readExactly(handle, json, 8, file);
      const header = parseHeader(json, size - 8 - n, file);
      return new SafetensorsFile(file, { ...header, dataStart: 8 + n }, handle);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }
  get tensors(): readonly StTensorInfo[] {
    return this.header.tensors;
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  info(name: string): StTensorInfo {
    const t = this.byName.get(name);
    if (!t) {
      const names = [...this.byName.keys()];
      throw new UserError(`${this.path}: no tensor '${name}' (the file has ${names.length ? names.map((s) => `'${s}'`).join(', ') : 'no tensors'})`);
    }
    return t;
  }

  /** The raw little-endian bytes of one tensor. */
  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const out = Buffer.alloc(t.end - t.begin);
    await readExactly(this.handle, out, this.header.dataStart + t.begin, this.path, name);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** One tensor as a reference Tensor (16-bit floats as bit patterns). */
  async readTensor(name: string): Promise<Tensor> {
    const t = this.info(name);
    const dtype = toReferenceDtype(t.dtype);
    if (!dtype) {
      throw new UserError(`${this.path}: tensor '${name}' has dtype ${t.dtype}; supported here: ${Object.keys(TO_REFERENCE).join(', ')}`);
    }
    const bytes = await this.readBytes(name);
    // Copy into a fresh, aligned buffer: typed arrays need their element alignment.
    const aligned = new Uint8Array(bytes.byteLength);
    aligned.set(bytes);
    return tensor(dtype, [...t.shape], typedView(dtype, aligned.buffer));
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function typedView(dtype: TensorDtype, buf: ArrayBuffer): Tensor['data'] {
  switch (dtype) {
    case 'fp16':
    case 'bf16':
      return new Uint16Array(buf);
    case 'f32':
      return new Float32Array(buf);
    case 'f64':
      return new Float64Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'uint8':
      return new Uint8Array(buf);
    case 'int32':
      return new Int32Array(buf);
  }
}

async function readExactly(handle: fs.FileHandle, buf: Buffer, position: number, file: string, tensorName?: string): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await handle.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) {
      const what = tensorName ? `tensor '${tensorName}'` : 'header';
      throw new UserError(`${file}: ${what} is truncated (read ${done} of ${buf.length} bytes at offset ${position})`);
    }
    done += bytesRead;
  }
}

export const openSafetensors = (file: string): Promise<SafetensorsFile> => SafetensorsFile.open(file);

/** Reads the named tensors (all when omitted) as reference Tensors. */
export async function readSafetensors(file: string, names?: readonly string[]): Promise<Map<string, Tensor>> {
  const f = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, Tensor>();
    for (const name of names ?? f.tensors.map((t) => t.name)) out.set(name, await f.readTensor(name));
    return out;
  } finally {
    await f.close();
  }
}

/** A tensor to write: any dtype with raw bytes, or a reference Tensor. */
export type StTensorInput = { dtype: StDtype; shape: number[]; data: ArrayBufferView } | Tensor;

function normalize(name: string, t: StTensorInput): { dtype: StDtype; shape: number[]; bytes: Uint8Array } {
  const dtype: StDtype = t.dtype in ST_DTYPE_BYTES ? (t.dtype as StDtype) : fromReferenceDtype(t.dtype as TensorDtype);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const expected = numel(t.shape) * ST_DTYPE_BYTES[dtype];
  if (!t.shape.every((d) => isNonNegInt(d))) throw new UserError(`safetensors writer: tensor '${name}' has shape [${t.shape.join(',')}]; expected non-negative integers`);
  if (bytes.byteLength !== expected) {
    throw new UserError(`safetensors writer: tensor '${name}' has ${bytes.byteLength} bytes but shape [${t.shape.join(',')}] × ${dtype} needs ${expected}`);
  }
  return { dtype, shape: t.shape, bytes };
}

/**
 * Writes tensors (in the given order) atomically: a temp file beside the target, renamed over it when
 * complete. Data is written tensor by tensor; the header is padded with spaces to 8 bytes like the
 * reference writer.
 */
export async function writeSafetensors(
  file: string,
  tensors: Iterable<readonly [string, StTensorInput]> | Record<string, StTensorInput>,
  metadata?: Record<string, string>,
): Promise<void> {
  const entries = Symbol.iterator in tensors ? [...(tensors as Iterable<readonly [string, StTensorInput]>)] : Object.entries(tensors);
  const header = new Map<string, unknown>();
  if (metadata && Object.keys(metadata).length > 0) header.set('__metadata__', metadata);
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__' || header.has(name)) throw new UserError(`safetensors writer: tensor name '${name}' is reserved or repeated`);
    const n = normalize(name, t);
    header.set(name, { dtype: n.dtype, shape: n.shape, data_offsets: [offset, offset + n.bytes.byteLength] });
    offset += n.bytes.byteLength;
    parts.push(n.bytes);
  }
  let json = JSON.stringify(Object.fromEntries(header));
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(jsonBytes.length));

  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.write(prefix);
    await handle.write(jsonBytes);
    for (const p of parts) if (p.byteLength > 0) await handle.write(p);
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, file);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
