// `svdq-codegen pack`: a checkpoint (Nunchaku SVDQuant, or logical tensors) → the canonical packed
// layout (docs/layouts.md), layer by layer. The output header is planned from the input header alone,
// then each layer is read, verified, packed and appended before the next one is read, and tensors that
// are no layer's (norms, embeddings, 16-bit layers) are copied through in chunks: memory stays at one
// layer, whatever the checkpoint's size. The file appears atomically with its provenance in
// `__metadata__` (docs/export.md "pack").
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../dsl/errors.js';
import { MAX_RANK } from '../../dsl/lowrank.js';
import type { Dtype16 } from '../../dsl/types.js';
import { REPO_ROOT } from '../../codegen/cache.js';
import { LAYOUT_VERSION, packLayer, type PackedLayer } from '../../codegen/layouts.js';
import { groupLayers, inferLayer, outputTensors, readLayer, type LayerInfo, type PackFormatKind, type PackSource } from './layers.js';
import { verifyLayer } from './verify.js';
import { StreamingSafetensorsWriter, type PlannedTensor } from './writer.js';
import { SafetensorsFile, type StTensorInfo } from '../../codegen/safetensors.js';

export type { PackSource, PackFormatKind, LayerInfo };

export interface PackOptions {
  from: PackSource;
  input: string;
  output: string;
  /** Assert every layer is this format (a mismatch is a UserError). */
  format?: PackFormatKind;
  /** Layer dtype when no 16-bit tensor tells it (FP4 layers without bias/smooth/low-rank). */
  dtype?: Dtype16;
  /** Nunchaku: real [N, K] per layer prefix (default: the 128-padded shape). */
  shapes?: Record<string, { n: number; k: number }>;
  /** Called after each layer is written. */
  onLayer?: (done: number, total: number, prefix: string) => void;
}

export interface PackResult {
  output: string;
  layers: LayerInfo[];
  passthrough: string[];
  dropped: string[];
  metadata: Record<string, string>;
}

/** Per-layer facts recorded in `svdq.layers` (JSON), so a consumer needs nothing but the file. */
export interface PackedLayerMeta {
  N: number;
  K: number;
  rank: number;
  format: LayerInfo['format'];
  dtype: Dtype16;
}

export const TOOL_VERSION: string = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const CHUNK = 8 << 20;
async function* copyChunks(handle: fs.FileHandle, start: number, bytes: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < bytes; off += CHUNK) {
    const n = Math.min(CHUNK, bytes - off);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await handle.read(buf, got, n - got, start + off + got);
      if (bytesRead === 0) throw new UserError(`input truncated while copying (offset ${start + off + got})`);
      got += bytesRead;
    }
    yield buf;
  }
}

const asBytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The packed layer's tensors in the order `outputTensors` planned them. */
function packedBytes(p: PackedLayer, info: LayerInfo): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>([
    [`${info.prefix}.wq`, p.wq],
    [`${info.prefix}.wscales`, asBytes(p.wscales)],
  ]);
  if (info.format.kind === 'nvfp4') out.set(`${info.prefix}.wtensor_scale`, asBytes(new Float32Array([p.wtensorScale])));
  if (p.rank > 0) {
    out.set(`${info.prefix}.lora_down`, asBytes(p.loraDown!));
    out.set(`${info.prefix}.lora_up`, asBytes(p.loraUp!));
    out.set(`${info.prefix}.lora_scales`, asBytes(p.loraScales!));
  }
  if (p.smooth) out.set(`${info.prefix}.smooth`, asBytes(p.smooth));
  if (p.bias) out.set(`${info.prefix}.bias`, asBytes(p.bias));
  return out;
}

export async function packCheckpoint(o: PackOptions): Promise<PackResult> {
  if (o.from !== 'nunchaku' && o.from !== 'logical') throw new UserError(`--from: ${JSON.stringify(o.from)} is not a source; expected nunchaku or logical`);
  if (path.resolve(o.input) === path.resolve(o.output)) throw new UserError(`--out: ${o.output} is the input file; write the packed checkpoint elsewhere`);
  const file = await SafetensorsFile.open(o.input);
  try {
    const { layers: groups, passthrough } = groupLayers(file.tensors, o.from);
    if (groups.length === 0) throw new UserError(`${o.input}: no layer found (no tensor named '<prefix>.qweight')`);
    const known = new Set(groups.map((g) => g.prefix));
    for (const p of Object.keys(o.shapes ?? {})) if (!known.has(p)) throw new UserError(`--shape: no layer '${p}' in ${o.input}`);
    const infos = groups.map((g) => inferLayer(g, o.from, o));
    // Issue 15: rank 1040 was packed although no kernel takes more than MAX_RANK (the header tells it).
    for (const i of infos) if (i.rank > MAX_RANK) throw new UserError(`layer '${i.prefix}': rank ${i.rank} exceeds the maximum ${MAX_RANK} (lora_down has ${i.rank} rows)`);
    // Plan: layers in the order their first tensor appears, pass-through tensors after them.
    const planned: PlannedTensor[] = [];
    for (const info of infos) planned.push(...outputTensors(info));
    const outNames = new Set(planned.map((t) => t.name));
    for (const t of passthrough) {
      if (outNames.has(t.name)) throw new UserError(`tensor '${t.name}' would collide with a packed tensor of the same name`);
      planned.push({ name: t.name, dtype: t.dtype, shape: [...t.shape] });
    }
    const dropped = infos.flatMap((i) => i.dropped);
    const layersMeta: Record<string, PackedLayerMeta> = Object.fromEntries(infos.map((i) => [i.prefix, { N: i.N, K: i.K, rank: i.rank, format: i.format, dtype: i.dtype }]));
    const metadata: Record<string, string> = {
      ...Object.fromEntries(Object.entries(file.metadata).map(([k, v]) => [`source.${k}`, v])),
      'svdq.layout_version': String(LAYOUT_VERSION),
      'svdq.source': o.from,
      'svdq.source_file': path.basename(o.input),
      'svdq.source_sha256': await sha256File(o.input),
      'svdq.tool': 'svdq-codegen pack',
      'svdq.tool_version': TOOL_VERSION,
      'svdq.layers': JSON.stringify(layersMeta),
    };
    if (dropped.length > 0) metadata['svdq.dropped'] = JSON.stringify(dropped);
    await fs.mkdir(path.dirname(path.resolve(o.output)), { recursive: true });
    const writer = await StreamingSafetensorsWriter.create(o.output, planned, metadata);
    try {
      for (let i = 0; i < groups.length; i++) {
        const info = infos[i];
        const logical = await readLayer(file, groups[i], info, o.from);
        verifyLayer(info.prefix, logical);
        const tensors = packedBytes(packLayer(logical), info);
        for (const [name, data] of tensors) await writer.write(name, data);
        o.onLayer?.(i + 1, groups.length, info.prefix);
      }
      const raw = await fs.open(o.input, 'r');
      try {
        for (const t of passthrough) await writer.write(t.name, copyChunks(raw, file.header.dataStart + t.begin, t.end - t.begin));
      } finally {
        await raw.close();
      }
      await writer.commit();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return { output: o.output, layers: infos, passthrough: passthrough.map((t: StTensorInfo) => t.name), dropped, metadata };
  } finally {
    await file.close();
  }
}

/** Parses `--shape PREFIX=NxK` values. */
export function parseShapeOption(values: readonly string[]): Record<string, { n: number; k: number }> {
  const out: Record<string, { n: number; k: number }> = {};
  for (const v of values) {
    const m = /^(.+)=(\d+)x(\d+)$/.exec(v);
    if (!m) throw new UserError(`--shape: ${JSON.stringify(v)} is not PREFIX=NxK (e.g. transformer_blocks.0.attn.to_q=3072x3072)`);
    out[m[1]] = { n: Number(m[2]), k: Number(m[3]) };
  }
  return out;
}
