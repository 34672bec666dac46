import { describe, expect, it } from 'vitest';
import { resolveGpu } from '../../dsl/targets.js';
import { renderHtmlReport, renderSummaryTable, reportPathFor, useColor } from '../../tuner/report.js';
import { makeRecord } from './fixtures/records.js';

const target = resolveGpu('sm_89');
const records = [makeRecord({ m: 4096, layer: 'double.img.qkv', candidates: 5 }), makeRecord({ m: 512, n: 9216, layer: 'double.txt.qkv', timeUs: 40, label: 'measured', candidates: 2 })];
const ANSI = /\u001b\[/;

describe('console summary', () => {
  it('labels every time and has no colour codes when colour is off', () => {
    const text = renderSummaryTable(records, target, false);
    expect(text).not.toMatch(ANSI);
    expect(text).toContain('100.0 predicted');
    expect(text).toContain('40.0 measured');
    expect(text).toContain('4096×3072×3072');
    expect(text).toContain('128x128x64 w2x4 s2 smem f32');
    expect(renderSummaryTable(records, target, true)).toMatch(ANSI);
  });

  it('respects NO_COLOR and FORCE_COLOR', () => {
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
  });
});

describe('HTML report', () => {
  const html = renderHtmlReport(records, target);
  it('is self-contained: no scripts, no external resources', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="https?:/i);
    expect(html).toMatch(/^<!doctype html>/);
  });

  it('has a per-layer time chart and a roofline with one dot per candidate', () => {
    expect(html).toContain('<svg id="time-chart"');
    expect(html).toContain('<svg id="roofline"');
    expect((html.match(/<g class="bar">/g) ?? []).length).toBe(2);
    expect((html.match(/<circle class="cand /g) ?? []).length).toBe(7);
    expect((html.match(/<circle class="cand chosen"/g) ?? []).length).toBe(2);
    expect(html).toContain('<polyline class="roof"');
    expect(html).toContain('<polyline class="roof dram"');
  });

  it('says which times are predicted and lists every record', () => {
    expect(html).toContain('predicted');
    expect((html.match(/<tr><td>/g) ?? []).length).toBe(2);
    expect(html).toContain('double.txt.qkv');
  });

  it('escapes text', () => {
    const evil = renderHtmlReport([makeRecord({ layer: '<img src=x onerror=alert(1)>' })], target);
    expect(evil).not.toContain('<img src=x');
    expect(evil).toContain('&lt;img');
  });

  it('sits next to the database', () => {
    expect(reportPathFor('.svdq/tune-rtx4090.json')).toBe('.svdq/tune-rtx4090.html');
  });
});

describe('baseline ratio and model total', () => {
  const withBaseline = (layer: string, us: number, baseUs: number, count: number) => ({
    ...makeRecord({ layer, timeUs: us }),
    countPerForward: count,
    predictedTimeUs: us,
    mainLoop: { counts: 'sass' as const, instrPerMma: 25.6 },
    baseline: { label: 'predicted' as const, gemmUri: 'w4a4_int4g64_bf16_r32_m256n128k64_w8x1_s2_reg_f16acc_sm89_bias-lora', timeUs: baseUs, paddedM: 4096, mainLoop: { counts: 'sass' as const, instrPerMma: 13.1 } },
    vsBaseline: baseUs / us,
  });
  const recs = [withBaseline('double.img.qkv', 100, 150, 19), withBaseline('single.mlp_fc2', 200, 180, 38)];
  const target = resolveGpu('sm_89');

  it('shows × vs baseline, instr/MMA of both and the forward total in the console', () => {
    const out = renderSummaryTable(recs, target, false);
    expect(out).toContain('× vs baseline (predicted)');
    expect(out).toContain('1.50×');
    expect(out).toContain('25.6 / 13.1 sass');
    const total = (100 * 19 + 200 * 38) / 1000;
    const base = (150 * 19 + 180 * 38) / 1000;
    expect(out).toContain(`${total.toFixed(2)} ms predicted, reference engine's tile ${base.toFixed(2)} ms predicted — ${(base / total).toFixed(2)}× (predicted)`);
  });

  it('charts the model total per layer kind in the HTML report', () => {
    const html = renderHtmlReport(recs, target);
    expect(html).toContain('<svg id="model-total"');
    expect(html).toContain('>qkv<');
    expect(html).toContain('>mlp_fc2<');
    expect(html).toContain('reference tile');
  });

  it('says why there is no total for records without the fields', () => {
    expect(renderHtmlReport([makeRecord()], target)).toContain('No model total');
    expect(renderSummaryTable([makeRecord()], target, false)).not.toContain('one forward');
  });
});
