// Which catalog layer (dsl/models) a Nunchaku checkpoint key is, and what activation coding that layer
// runs with. Upstream does not store the coding in the checkpoint: model code decides it
// (`act_unsigned = precision != "nvfp4"` for the fc2 after GELU: nunchaku/models/attention.py
// NunchakuFeedForward, transformer_flux_v2.py single block, src/FluxModel.cpp). Here it follows from the
// catalog: a layer whose input comes from a GELU-qnext layer (`inputFrom`) takes u4 + GELU_SHIFT in
// INT4, signed e2m1 in NVFP4; every other layer is signed. SDXL's GEGLU feed-forward stays signed
// (nunchaku/models/unets/unet_sdxl.py sets no act_unsigned).
import { UserError } from '../../dsl/errors.js';
import { GELU_SHIFT } from '../../dsl/formats.js';
import { resolveModel } from '../../dsl/models/index.js';
import type { ActivationCoding, LayerShape, ModelCatalog, QuantFormat } from '../../dsl/types.js';

type Rule = [RegExp, (m: RegExpExecArray) => string];

// Key patterns per model: C++/DeepCompressor names (convert.py local_name_map) and the Python (v2) names.
const FLUX: Rule[] = [
  [/^transformer_blocks\.\d+\.(?:qkv_proj|attn\.to_qkv)$/, () => 'double.img.qkv'],
  [/^transformer_blocks\.\d+\.(?:qkv_proj_context|attn\.add_qkv_proj)$/, () => 'double.txt.qkv'],
  [/^transformer_blocks\.\d+\.(?:out_proj|attn\.to_out\.0)$/, () => 'double.img.attn_out'],
  [/^transformer_blocks\.\d+\.(?:out_proj_context|attn\.to_add_out)$/, () => 'double.txt.attn_out'],
  [/^transformer_blocks\.\d+\.(?:mlp_fc1|ff\.net\.0\.proj)$/, () => 'double.img.mlp_fc1'],
  [/^transformer_blocks\.\d+\.(?:mlp_fc2|ff\.net\.2)$/, () => 'double.img.mlp_fc2'],
  [/^transformer_blocks\.\d+\.(?:mlp_context_fc1|ff_context\.net\.0\.proj)$/, () => 'double.txt.mlp_fc1'],
  [/^transformer_blocks\.\d+\.(?:mlp_context_fc2|ff_context\.net\.2)$/, () => 'double.txt.mlp_fc2'],
  [/^single_transformer_blocks\.\d+\.(?:qkv_proj|attn\.to_qkv)$/, () => 'single.qkv'],
  [/^single_transformer_blocks\.\d+\.(?:out_proj|attn\.to_out)$/, () => 'single.attn_out'],
  [/^single_transformer_blocks\.\d+\.mlp_fc1$/, () => 'single.mlp_fc1'],
  [/^single_transformer_blocks\.\d+\.mlp_fc2$/, () => 'single.mlp_fc2'],
];
const QWEN: Rule[] = [
  [/^transformer_blocks\.\d+\.attn\.to_qkv$/, () => 'img.qkv'],
  [/^transformer_blocks\.\d+\.attn\.add_qkv_proj$/, () => 'txt.qkv'],
  [/^transformer_blocks\.\d+\.attn\.to_out\.0$/, () => 'img.out'],
  [/^transformer_blocks\.\d+\.attn\.to_add_out$/, () => 'txt.out'],
  [/^transformer_blocks\.\d+\.(img|txt)_mlp\.net\.0\.proj$/, (m) => `${m[1]}.mlp_fc1`],
  [/^transformer_blocks\.\d+\.(img|txt)_mlp\.net\.2$/, (m) => `${m[1]}.mlp_fc2`],
];
// SDXL: down_blocks.1 / up_blocks.1 run at C = 640; down_blocks.2, mid_block, up_blocks.0 at C = 1280.
const SDXL_LEVEL = String.raw`^(down_blocks\.[12]|up_blocks\.[01]|mid_block)\.attentions\.\d+\.transformer_blocks\.\d+\.`;
const sdxlC = (block: string): string => (/^(down_blocks\.1|up_blocks\.1)$/.test(block) ? 'c640' : 'c1280');
const SDXL: Rule[] = [
  [new RegExp(`${SDXL_LEVEL}attn1\\.to_qkv$`), (m) => `${sdxlC(m[1])}.attn1.to_qkv`],
  [new RegExp(`${SDXL_LEVEL}attn1\\.to_out\\.0$`), (m) => `${sdxlC(m[1])}.attn1.to_out`],
  [new RegExp(`${SDXL_LEVEL}attn2\\.to_q$`), (m) => `${sdxlC(m[1])}.attn2.to_q`],
  [new RegExp(`${SDXL_LEVEL}attn2\\.to_out\\.0$`), (m) => `${sdxlC(m[1])}.attn2.to_out`],
  [new RegExp(`${SDXL_LEVEL}ff\\.net\\.0\\.proj$`), (m) => `${sdxlC(m[1])}.ff.geglu_proj`],
  [new RegExp(`${SDXL_LEVEL}ff\\.net\\.2$`), (m) => `${sdxlC(m[1])}.ff.out`],
];

const RULES: Record<string, Rule[]> = { 'flux.1-dev': FLUX, 'flux.1-schnell': FLUX, 'qwen-image': QWEN, sdxl: SDXL };
export const PACK_MODELS = Object.keys(RULES);

/** The model a key layout implies (FLUX.1-dev and -schnell share every layer; dev is reported). */
export function detectModel(prefixes: readonly string[]): string | undefined {
  const has = (re: RegExp) => prefixes.some((p) => re.test(p));
  if (has(/^single_transformer_blocks\./)) return 'flux.1-dev';
  if (has(/\.(img|txt)_mlp\.net\./)) return 'qwen-image';
  if (has(/^(down|up)_blocks\.\d+\.attentions\./)) return 'sdxl';
  return undefined;
}

export interface CatalogLayer {
  model: string;
  layer: LayerShape;
}

/** The catalog layer of a checkpoint key, or a UserError naming the key and the model. */
export function catalogLayer(modelId: string, prefix: string): CatalogLayer {
  const rules = RULES[modelId];
  if (!rules) throw new UserError(`--model: ${JSON.stringify(modelId)} has no Nunchaku key map; allowed: ${PACK_MODELS.join(', ')}`);
  const catalog: ModelCatalog = resolveModel(modelId);
  for (const [re, name] of rules) {
    const m = re.exec(prefix);
    if (!m) continue;
    const wanted = name(m);
    const layer = catalog.layers.find((l) => l.name === wanted);
    if (!layer) throw new Error(`pack model map: ${modelId} rule gives '${wanted}', which catalog ${catalog.id} lacks`);
    return { model: catalog.id, layer };
  }
  throw new UserError(`layer '${prefix}': not a quantized layer of ${modelId} (no key pattern of its Nunchaku checkpoints matches); pass the right --model, or --model none`);
}

/** The activation coding upstream runs a catalog layer with, for the checkpoint's weight format. */
export function activationFor(c: CatalogLayer, format: QuantFormat): ActivationCoding {
  const from = c.layer.inputFrom ? resolveModel(c.model).layers.find((l) => l.name === c.layer.inputFrom) : undefined;
  const afterGelu = from !== undefined && from.epilogue.includes('gelu') && from.epilogue.includes('qnext');
  return afterGelu && format.kind === 'int4' ? { unsigned: true, shift: GELU_SHIFT } : { unsigned: false, shift: 0 };
}
