// The HTML report in a real headless Chromium (npm run test:long; Debian package `chromium`):
// it renders (screenshot taken, DOM holds both charts) with no console errors.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tune } from '../../tuner/tune.js';
import { fakeCompiler } from './fixtures/doubles.js';

const run = promisify(execFile);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function chromium(args: string[], profile: string) {
  return run('chromium', [...FLAGS, `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', ...args], { maxBuffer: 64 << 20, timeout: 120_000 });
}

describe('tuning report in headless Chromium', () => {
  it('renders both charts and the table, screenshot taken, no console errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svdq-report-'));
    const r = await tune({ gpu: 'sm_89', mode: 'model', db: join(dir, 'tune.json'), model: 'flux.1-dev', compiler: fakeCompiler() });
    const url = `file://${r.reportPath}`;
    const shot = join(dir, 'report.png');
    const a = await chromium(['--window-size=1280,2400', `--screenshot=${shot}`, url], join(dir, 'profile-a'));
    const png = await readFile(shot);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect((await stat(shot)).size).toBeGreaterThan(20_000);
    const b = await chromium(['--dump-dom', url], join(dir, 'profile-b'));
    const dom = b.stdout;
    expect(dom).toContain('<svg id="time-chart"');
    expect(dom).toContain('<svg id="roofline"');
    expect((dom.match(/<circle class="cand chosen"/g) ?? []).length).toBe(r.records.length);
    expect((dom.match(/<tr><td>/g) ?? []).length).toBe(r.records.length);
    const console = `${a.stderr}\n${b.stderr}`.split('\n').filter((l) => /CONSOLE|Uncaught|Failed to load resource/.test(l));
    expect(console).toEqual([]);
  });
});
