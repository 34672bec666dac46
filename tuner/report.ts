// What a person sees after tuning: a console table (cli-table3; colour with chalk unless NO_COLOR is
// set or the stream is not a terminal) and an HTML report with inline SVG charts (per-layer time and
// chosen tile; a roofline of every candidate). No external scripts, fonts or network. Every time is
// printed with how it was obtained: "measured" or "predicted".
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import writeFileAtomic from 'write-file-atomic';
import { parseUri } from '../codegen/uri.js';
import type { Target } from '../dsl/types.js';
import { cacheFacts } from '../dsl/targets.js';
import { peak4BitFlops } from './cost-model.js';
import { modelTotals } from './choose.js';
import type { TuneRecord } from './records.js';

/** Colour on when the stream is a TTY and NO_COLOR is unset or empty (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** Short tile text for tables: "128x128x64 w2x4 s3 smem f32". */
export function tileText(gemmUri: string): string {
  const p = parseUri(gemmUri);
  if (p.kind !== 'gemm') return gemmUri;
  const t = p.tile;
  return `${t.blockM}x${t.blockN}x${t.blockK} w${t.warpsM}x${t.warpsN} s${t.stages} ${t.staging} ${t.accum}`;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');

/** The bound, with the pipe when a non-tensor pipe bounds the main loop. */
const boundText = (r: TuneRecord) => (r.timing.bound === 'pipe' && r.predictedTerms?.pipe ? `pipe (${r.predictedTerms.pipe})` : r.timing.bound);

/** "25.6 / 13.1 sass" — the chosen GEMM's and the baseline's main-loop instructions per MMA. */
export function instrText(r: TuneRecord): string {
  const a = r.mainLoop?.instrPerMma;
  const b = r.baseline?.mainLoop?.instrPerMma;
  if (a === undefined && b === undefined) return '—';
  return `${a !== undefined ? fmt(a) : '—'} / ${b !== undefined ? fmt(b) : '—'} ${r.mainLoop?.counts ?? r.baseline?.mainLoop?.counts ?? ''}`.trim();
}

/** Rows in a stable order: by layer name of the record's first layer, then M. */
function ordered(records: readonly TuneRecord[]): TuneRecord[] {
  return [...records].sort((a, b) => (a.layers[0] < b.layers[0] ? -1 : a.layers[0] > b.layers[0] ? 1 : a.shape.m - b.shape.m));
}

export function renderSummaryTable(records: readonly TuneRecord[], target: Target, color: boolean): string {
  const c = new Chalk({ level: color ? 1 : 0 });
  const table = new Table({
    head: ['layer', 'shape M×N×K', 'chosen config', 'time µs', 'TFLOPS', '% of peak', 'bound', '× vs baseline (predicted)', 'instr/MMA chosen / baseline'].map((h) => c.bold(h)),
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'right', 'right'],
  });
  let total = 0;
  let anyPredicted = false;
  for (const r of ordered(records)) {
    const t = r.timing;
    anyPredicted ||= t.label === 'predicted';
    total += t.timeUs;
    const how = t.label === 'measured' ? c.green(t.clock === 'emulator-wall' ? 'measured (emulator)' : 'measured') : c.yellow('predicted');
    const time = `${fmt(t.timeUs)} ${how}`;
    const layers = r.layers.length > 2 ? `${r.layers.slice(0, 2).join(', ')} +${r.layers.length - 2}` : r.layers.join(', ');
    table.push([layers, `${r.shape.m}×${r.shape.n}×${r.shape.k}`, c.cyan(tileText(r.gemmUri)), time, fmt(t.tflops), `${fmt(t.percentOfPeak)}%`, boundText(r), r.vsBaseline ? `${fmt(r.vsBaseline, 2)}×` : '—', instrText(r)]);
  }
  const totals = modelTotals(records);
  const peak = peak4BitFlops(target, records[0] ? (parseUri(records[0].gemmUri).spec.format.kind as 'int4') : 'int4') / 1e12;
  const head = `${c.bold(target.name)} (${target.arch}, ${target.id}) — 4-bit peak ${fmt(peak, 0)} TFLOPS`;
  const note = anyPredicted ? c.yellow('predicted = roofline cost model (no GPU measurement); see docs/tuning.md') : c.green('all times measured with CUDA events');
  const model = totals
    ? `one forward, linear layers (Σ layer × calls per forward): ${fmt(totals.modelTotalUs / 1000, 2)} ms predicted, reference engine's tile ${fmt(totals.modelTotalBaselineUs / 1000, 2)} ms predicted — ${fmt(totals.vsBaseline, 2)}× (predicted)\n`
    : '';
  return `${head}\n${table.toString()}\nsum of one call per row: ${fmt(total)} µs (${anyPredicted ? 'predicted' : 'measured'})\n${model}${note}\n`;
}

// ---------------------------------------------------------------- HTML

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Horizontal bars: one per record, length = time, label = layer and chosen tile. */
export function timeChartSvg(records: readonly TuneRecord[]): string {
  const rows = ordered(records);
  const rowH = 22;
  const left = 260;
  const width = 1100;
  const height = rows.length * rowH + 40;
  const max = Math.max(1e-9, ...rows.map((r) => r.timing.timeUs));
  const bars = rows
    .map((r, i) => {
      const y = 20 + i * rowH;
      const w = ((width - left - 200) * r.timing.timeUs) / max;
      const cls = r.timing.label === 'measured' ? 'measured' : 'predicted';
      return (
        `<g class="bar"><text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(r.layers[0])} (M=${r.shape.m})</text>` +
        `<rect class="${cls}" x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}"><title>${esc(r.gemmUri)}</title></rect>` +
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 14}">${fmt(r.timing.timeUs)} µs ${cls} · ${esc(tileText(r.gemmUri))}</text></g>`
      );
    })
    .join('\n');
  return `<svg id="time-chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="time per layer">\n${bars}\n</svg>`;
}

/** One forward's predicted linear-layer time per layer kind: the tuned choice against the reference engine's tile. */
export function modelTotalSvg(records: readonly TuneRecord[]): string {
  const totals = modelTotals(records);
  if (!totals) return '<p>No model total: some records predate the baseline fields (re-tune with --force).</p>';
  const rowH = 40;
  const left = 120;
  const width = 900;
  const max = Math.max(1e-9, ...totals.byKind.map((k) => Math.max(k.us, k.baselineUs)));
  const rows = totals.byKind
    .map((k, i) => {
      const y = 24 + i * rowH;
      const w = (v: number) => (((width - left - 260) * v) / max).toFixed(1);
      return (
        `<g class="kind"><text x="${left - 6}" y="${y + 16}" text-anchor="end">${esc(k.kind)}</text>` +
        `<rect class="predicted" x="${left}" y="${y}" width="${w(k.us)}" height="14"/><text x="${left + Number(w(k.us)) + 6}" y="${y + 12}">tuned ${fmt(k.us / 1000, 2)} ms predicted</text>` +
        `<rect class="baseline" x="${left}" y="${y + 17}" width="${w(k.baselineUs)}" height="14"/><text x="${left + Number(w(k.baselineUs)) + 6}" y="${y + 29}">reference tile ${fmt(k.baselineUs / 1000, 2)} ms predicted</text></g>`
      );
    })
    .join('\n');
  const height = 40 + totals.byKind.length * rowH;
  const head = `<text x="${left}" y="14">one forward: ${fmt(totals.modelTotalUs / 1000, 2)} ms vs ${fmt(totals.modelTotalBaselineUs / 1000, 2)} ms — ${fmt(totals.vsBaseline, 2)}× (predicted)</text>`;
  return `<svg id="model-total" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="model total per layer kind">\n${head}\n${rows}\n</svg>`;
}

/** Log-log roofline: attainable TFLOPS vs FLOP per byte, every candidate a dot, chosen ones ringed. */
export function rooflineSvg(records: readonly TuneRecord[], target: Target): string {
  const W = 720;
  const H = 420;
  const pad = { l: 60, r: 20, t: 20, b: 50 };
  const kind = records[0] ? (parseUri(records[0].gemmUri).spec.format.kind as 'int4') : 'int4';
  const peak = Math.max(1, peak4BitFlops(target, kind) / 1e12);
  const bw = target.dramGBps / 1000; // TB/s: TFLOPS per (FLOP/byte)
  const points = records.flatMap((r) => r.candidates.map((c) => ({ ...c, layer: r.layers[0] })));
  const xs = points.map((p) => p.flopsPerByte).filter((x) => x > 0);
  const ys = points.map((p) => p.tflops).filter((y) => y > 0);
  const xMin = 10 ** Math.floor(Math.log10(Math.min(1, ...xs)));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(10 * (peak / bw), ...xs)));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(peak / 100, ...ys)));
  const yMax = 10 ** Math.ceil(Math.log10(peak * 1.01));
  const sx = (x: number) => pad.l + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (W - pad.l - pad.r);
  const sy = (y: number) => H - pad.b - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - pad.t - pad.b);
  // Bytes on the x axis are everything the kernel moves (L2→SM traffic), so the binding roof is the
  // cost model's L2 bandwidth; the DRAM roof is drawn dashed for reference.
  const roofFor = (cls: string, bandwidth: number) => {
    const r = peak / bandwidth;
    return `<polyline class="${cls}" points="${sx(xMin).toFixed(1)},${sy(Math.max(yMin, xMin * bandwidth)).toFixed(1)} ${sx(r).toFixed(1)},${sy(peak).toFixed(1)} ${sx(xMax).toFixed(1)},${sy(peak).toFixed(1)}"/>`;
  };
  const l2 = cacheFacts(target).l2BandwidthGBs / 1000;
  const ridge = peak / l2;
  const roof = `${roofFor('roof', l2)}\n${roofFor('roof dram', bw)}`;
  const ticks: string[] = [];
  for (let e = Math.log10(xMin); e <= Math.log10(xMax); e++) ticks.push(`<text x="${sx(10 ** e).toFixed(1)}" y="${H - pad.b + 16}" text-anchor="middle">1e${e}</text>`);
  for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) ticks.push(`<text x="${pad.l - 6}" y="${sy(10 ** e).toFixed(1)}" text-anchor="end">${10 ** e}</text>`);
  const dots = points
    .filter((p) => p.flopsPerByte > 0 && p.tflops > 0)
    .map(
      (p) =>
        `<circle class="cand ${p.status}" cx="${sx(p.flopsPerByte).toFixed(1)}" cy="${sy(p.tflops).toFixed(1)}" r="${p.status === 'chosen' ? 5 : 3}"><title>${esc(p.layer)}: ${esc(p.gemmUri)} — ${fmt(p.timeUs)} µs ${p.label}, ${p.status}</title></circle>`,
    )
    .join('\n');
  return [
    `<svg id="roofline" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="roofline of every candidate">`,
    `<rect class="frame" x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}"/>`,
    roof,
    ...ticks,
    `<text x="${(W + pad.l) / 2}" y="${H - 8}" text-anchor="middle">arithmetic intensity (FLOP per global byte)</text>`,
    `<text x="14" y="${(H - pad.b) / 2}" transform="rotate(-90 14 ${(H - pad.b) / 2})" text-anchor="middle">TFLOPS</text>`,
    `<text x="${sx(ridge).toFixed(1)}" y="${(sy(peak) - 6).toFixed(1)}">peak ${fmt(peak, 0)} TFLOPS · L2 ${cacheFacts(target).l2BandwidthGBs} GB/s (model) · DRAM ${target.dramGBps} GB/s dashed</text>`,
    dots,
    '</svg>',
  ].join('\n');
}

export function renderHtmlReport(records: readonly TuneRecord[], target: Target, title = `svdq-codegen tuning report — ${target.name}`): string {
  const rows = ordered(records)
    .map(
      (r) =>
        `<tr><td>${esc(r.layers.join(', '))}</td><td>${r.shape.m}×${r.shape.n}×${r.shape.k}</td><td><code>${esc(r.gemmUri)}</code><br><code>${esc(r.actUri ?? 'no activation kernel: input quantized by the previous GEMM')}</code></td>` +
        `<td class="num">${fmt(r.timing.timeUs)}</td><td>${r.timing.label}</td><td class="num">${fmt(r.timing.tflops)}</td><td class="num">${fmt(r.timing.percentOfPeak)}%</td><td>${esc(boundText(r))}</td><td class="num">${r.vsBaseline ? fmt(r.vsBaseline, 2) + '×' : '—'}</td><td class="num">${esc(instrText(r))}</td>` +
        `<td class="num">${r.resources.gemm.registers}/${r.resources.gemm.spillBytes}</td><td>${r.correctness ? (r.correctness.passed ? 'pass' : 'FAIL') + ` (${r.correctness.backend})` : '—'}</td></tr>`,
    )
    .join('\n');
  const predicted = records.some((r) => r.timing.label === 'predicted');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
td.num{text-align:right}code{font-size:12px}
svg text{font:11px sans-serif;fill:#333}
rect.predicted{fill:#e0a030}rect.baseline{fill:#8888aa}rect.measured{fill:#3a8a3a}rect.frame{fill:none;stroke:#999}
polyline.roof{fill:none;stroke:#c33;stroke-width:2}polyline.dram{stroke:#888;stroke-dasharray:5 4;stroke-width:1}
circle.cand{fill:#7a9cc6;opacity:.6}circle.chosen{fill:#d33;opacity:1;stroke:#000}
circle.spills,circle.occupancy,circle.incorrect,circle.compile-error{fill:#999}
</style></head><body>
<h1>${esc(title)}</h1>
<p>${target.smCount} SMs, ${target.dramGBps} GB/s, ${target.l2MiB} MiB L2. ${records.length} tuned shape bucket(s).
${predicted ? '<strong>Times marked “predicted” come from the roofline cost model, not from a GPU.</strong>' : 'All times measured with CUDA events.'}</p>
<h2>One forward's linear layers per layer kind (tuned vs the reference engine's tile)</h2>
${modelTotalSvg(records)}
<h2>Time per layer and chosen tile</h2>
${timeChartSvg(records)}
<h2>Roofline of every candidate</h2>
${rooflineSvg(records, target)}
<h2>Records</h2>
<table id="records"><thead><tr><th>layers</th><th>M×N×K</th><th>kernels</th><th>time µs</th><th>how</th><th>TFLOPS</th><th>% peak</th><th>bound</th><th>× vs baseline (predicted)</th><th>instr/MMA chosen / baseline</th><th>regs/spill</th><th>correctness</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

/** The report's path next to a database: `tune-rtx4090.json` → `tune-rtx4090.html`. */
export function reportPathFor(dbPath: string): string {
  return dbPath.replace(/\.json$/i, '') + '.html';
}

export async function writeHtmlReport(path: string, records: readonly TuneRecord[], target: Target): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, renderHtmlReport(records, target));
}
