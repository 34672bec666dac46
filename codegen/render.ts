// Handlebars setup: strict (a missing plan field is an error, not an empty string), no HTML escaping,
// partials from templates/partials, compiled templates cached. Templates are logic-less: they spell
// out plan fields and iterate plan-computed lists; every decision is the planner's.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates');

type Compiled = Handlebars.TemplateDelegate;
let engine: typeof Handlebars | undefined;
const cache = new Map<string, Compiled>();

function handlebars(): typeof Handlebars {
  if (engine) return engine;
  const hb = Handlebars.create();
  const partials = join(TEMPLATES_DIR, 'partials');
  for (const file of readdirSync(partials)) {
    if (file.endsWith('.hbs')) hb.registerPartial(basename(file, '.hbs'), readFileSync(join(partials, file), 'utf8'));
  }
  engine = hb;
  return hb;
}

function compiled(name: string): Compiled {
  let t = cache.get(name);
  if (!t) {
    const source = readFileSync(join(TEMPLATES_DIR, name), 'utf8');
    t = handlebars().compile(source, { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: { each: true } });
    cache.set(name, t);
  }
  return t;
}

/** Renders a kernel plan's translation unit with its template (`plan.template`, e.g. 'gemm.cu.hbs'). */
export function renderKernel(plan: { template: string }): string {
  return compiled(plan.template)(plan);
}

/** Both translation units of a layer: file name (URI + .cu) → source. */
export function renderLayerSources(layer: { act: { template: string; uri: string }; gemm: { template: string; uri: string } }): Map<string, string> {
  return new Map([
    [`${layer.act.uri}.cu`, renderKernel(layer.act)],
    [`${layer.gemm.uri}.cu`, renderKernel(layer.gemm)],
  ]);
}

/** Renders any template under templates/ (e.g. 'user/CMakeLists.txt.hbs') with a context the caller decided. */
export function renderTemplateFile(name: string, context: object): string {
  return compiled(name)(context);
}
