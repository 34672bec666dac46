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
import type { ActivationCoding, Dtype16 } from '../../dsl/types.js';
import { REPO_ROOT } from '../../codegen/cache.js';
import { LAYOUT_VERSION, packLayer, unpackLayer, type PackedLayer } from '../../codegen/layouts.js';
import { hasNonUnitChannelScales, inferLayer, outputTensors, readLayer, type LayerInfo, type PackFormatKind, type PackSource } from './layers.js';
import { activationFor, catalogLayer, detectModel } from './models.js';
import { classifyTensors, type Disposition } from './names.js';
import { verifyLayer, verifyRoundTrip } from './verify.js';
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
  /** Nunchaku: real [N, K] per layer prefix (default: the catalog's shape with --model, else the 128-padded one). */
  shapes?: Record<string, { n: number; k: number }>;
  /** Model whose catalog names every layer and decides its activation coding; 'none' = no model; default: detected. */
  model?: string;
  /** Default true: a quantized-looking tensor no layer consumes is an error (false: copied, listed). */
  strict?: boolean;
  /** Called after each layer is written (bytes = input bytes of the layers done so far). */
  onLayer?: (done: number, total: number, prefix: string, bytes: number, totalBytes: number) => void;
}

export interface PackResult {
  output: string;
  layers: LayerInfo[];
  passthrough: string[];
  dropped: Disposition[];
  copiedQuantized: Disposition[];
  unrecognized: Disposition[];
  model?: string;
  metadata: Record<string, string>;
}

/** Per-layer facts recorded in `svdq.layers` (JSON), so a consumer needs nothing but the file. */
export interface PackedLayerMeta {
  N: number;
  K: number;
  rank: number;
  format: LayerInfo['format'];
  dtype: Dtype16;
  /** How the layer's input is coded: u4 + shift for the fc2 after GELU in INT4, signed otherwise. */
  activation: ActivationCoding;
  /** The catalog layer (dsl/models) it is, when the model is known. */
  catalog_layer?: string;
  /** NVFP4 per-channel output scales present (`PREFIX.wcscales`; the C ABI cannot run such a layer). */
  channel_scale: boolean;
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
  if (info.hasChannelScale) out.set(`${info.prefix}.wcscales`, asBytes(p.channelScales!));
  if (p.rank > 0) {
    out.set(`${info.prefix}.lora_down`, asBytes(p.loraDown!));
    out.set(`${info.prefix}.lora_up`, asBytes(p.loraUp!));
    out.set(`${info.prefix}.lora_scales`, asBytes(p.loraScales!));
  }
  if (p.smooth) out.set(`${info.prefix}.smooth`, asBytes(p.smooth));
  if (p.bias) out.set(`${info.prefix}.bias`, asBytes(p.bias));
  return out;
}

const span = (t: StTensorInfo) => t.end - t.begin;

export async function packCheckpoint(o: PackOptions): Promise<PackResult> {
  if (o.from !== 'nunchaku' && o.from !== 'logical') throw new UserError(`--from: ${JSON.stringify(o.from)} is not a source; expected nunchaku or logical`);
  if (o.from === 'nunchaku' && o.format === 'mxfp4') throw new UserError('--format: mxfp4 does not exist in Nunchaku checkpoints (they hold int4 or nvfp4); pack MXFP4 from --from logical');
  if (path.resolve(o.input) === path.resolve(o.output)) throw new UserError(`--out: ${o.output} is the input file; write the packed checkpoint elsewhere`);
  const file = await SafetensorsFile.open(o.input);
  try {
    const c = classifyTensors(file.tensors, o.from, o.strict ?? true);
    const groups = c.layers;
    if (groups.length === 0) throw new UserError(`${o.input}: no layer found (no tensor named '<prefix>.qweight')`);
    const known = new Set(groups.map((g) => g.prefix));
    for (const p of Object.keys(o.shapes ?? {})) if (!known.has(p)) throw new UserError(`--shape: no layer '${p}' in ${o.input}`);
    const model = o.model === 'none' ? undefined : (o.model ?? detectModel([...known]));
    const infos: LayerInfo[] = [];
    for (const g of groups) {
      const cat = model ? catalogLayer(model, g.prefix) : undefined;
      const shapes = { ...o.shapes };
      if (cat && !shapes[g.prefix] && o.from === 'nunchaku') shapes[g.prefix] = { n: cat.layer.n, k: cat.layer.k };
      const first = inferLayer(g, o.from, { ...o, shapes }, false);
      const info = inferLayer(g, o.from, { ...o, shapes }, await hasNonUnitChannelScales(file, g, o.from, first.N));
      if (cat) {
        if (info.N !== cat.layer.n || info.K !== cat.layer.k) {
          throw new UserError(`layer '${g.prefix}': ${info.N}x${info.K} (N x K), but ${cat.model} layer '${cat.layer.name}' is ${cat.layer.n}x${cat.layer.k}; wrong --model?`);
        }
        info.catalogLayer = cat.layer.name;
        info.activation = activationFor(cat, info.format);
      }
      infos.push(info);
    }
    // Issue 15: rank 1040 was packed although no kernel takes more than MAX_RANK (the header tells it).
    for (const i of infos) if (i.rank > MAX_RANK) throw new UserError(`layer '${i.prefix}': rank ${i.rank} exceeds the maximum ${MAX_RANK} (lora_down has ${i.rank} rows)`);
    // Plan: layers in the order their first tensor appears, pass-through tensors after them.
    const planned: PlannedTensor[] = [];
    for (const info of infos) planned.push(...outputTensors(info));
    const outNames = new Set(planned.map((t) => t.name));
    for (const t of c.passthrough) {
      if (outNames.has(t.name)) throw new UserError(`tensor '${t.name}' would collide with a packed tensor of the same name`);
      planned.push({ name: t.name, dtype: t.dtype, shape: [...t.shape] });
    }
    const layersMeta: Record<string, PackedLayerMeta> = Object.fromEntries(
      infos.map((i) => [
        i.prefix,
        { N: i.N, K: i.K, rank: i.rank, format: i.format, dtype: i.dtype, activation: i.activation, ...(i.catalogLayer ? { catalog_layer: i.catalogLayer } : {}), channel_scale: i.hasChannelScale },
      ]),
    );
    const metadata: Record<string, string> = {
      ...Object.fromEntries(Object.entries(file.metadata).map(([k, v]) => [`source.${k}`, v])),
      'svdq.layout_version': String(LAYOUT_VERSION),
      'svdq.source': o.from,
      'svdq.source_file': path.basename(o.input),
      'svdq.source_sha256': await sha256File(o.input),
      'svdq.tool': 'svdq-codegen pack',
      'svdq.tool_version': TOOL_VERSION,
      'svdq.layers': JSON.stringify(layersMeta),
      'svdq.model': model ?? 'none',
    };
    if (model && !o.model) metadata['svdq.model_detected'] = 'true';
    if (c.dropped.length > 0) metadata['svdq.dropped'] = JSON.stringify(c.dropped);
    if (c.copiedQuantized.length > 0) metadata['svdq.copied_quantized'] = JSON.stringify(c.copiedQuantized);
    if (c.unrecognized.length > 0) metadata['svdq.unrecognized'] = JSON.stringify(c.unrecognized);
    await fs.mkdir(path.dirname(path.resolve(o.output)), { recursive: true });
    const totalBytes = groups.reduce((a, g) => a + [...g.tensors.values()].reduce((b, t) => b + span(t), 0), 0);
    let doneBytes = 0;
    const writer = await StreamingSafetensorsWriter.create(o.output, planned, metadata);
    try {
      for (let i = 0; i < groups.length; i++) {
        const info = infos[i];
        const { layer, input } = await readLayer(file, groups[i], info, o.from);
        verifyLayer(info.prefix, layer);
        const packed = packLayer(layer);
        verifyRoundTrip(info.prefix, unpackLayer(packed), input);
        for (const [name, data] of packedBytes(packed, info)) await writer.write(name, data);
        doneBytes += [...groups[i].tensors.values()].reduce((b, t) => b + span(t), 0);
        o.onLayer?.(i + 1, groups.length, info.prefix, doneBytes, totalBytes);
      }
      const raw = await fs.open(o.input, 'r');
      try {
        for (const t of c.passthrough) await writer.write(t.name, copyChunks(raw, file.header.dataStart + t.begin, t.end - t.begin));
      } finally {
        await raw.close();
      }
      await writer.commit();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    return {
      output: o.output,
      layers: infos,
      passthrough: c.passthrough.map((t: StTensorInfo) => t.name),
      dropped: c.dropped,
      copiedQuantized: c.copiedQuantized,
      unrecognized: c.unrecognized,
      model,
      metadata,
    };
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
