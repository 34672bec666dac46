// Handlebars for the export templates (templates/export/**): strict, no HTML escaping, only `each` —
// the same rules as codegen/render.ts, whose engine is private to kernel templates.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { renderKernel, TEMPLATES_DIR } from '../codegen/render.js';

export { renderKernel, TEMPLATES_DIR };

const hb = Handlebars.create();
const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Renders templates/<name> with `context`; a field the template names but the context lacks is an error. */
export function renderTemplate(name: string, context: object): string {
  let t = cache.get(name);
  if (!t) {
    t = hb.compile(readFileSync(path.join(TEMPLATES_DIR, name), 'utf8'), { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: { each: true } });
    cache.set(name, t);
  }
  return t(context);
}
