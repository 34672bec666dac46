// Path and option mistakes of issue 15, through the real CLI entry (main, in-process): each is refused
// with exit 2 and a message naming the path, before any long work, and nothing of the user's is touched.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import chalk from 'chalk';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli.js';
import { dispatchPathFor } from '../../bin/commands/tune.js';
import { wrapUri } from '../../bin/commands/verify.js';
import { serializeDb } from '../../tuner/db.js';
import { emptyDb } from '../../tuner/records.js';
import { makeRecord } from '../tuner/fixtures/records.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svdq-harden-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// /sys refuses new files even to root: it stands in for a read-only disk. /proc/nope cannot be created.
const READ_ONLY = '/sys/svdq-nope';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string; ms: number }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  const t0 = Date.now();
  try {
    process.exitCode = undefined;
    const code = await main(['node', 'svdq-codegen', ...args]);
    return { code, out, err, ms: Date.now() - t0 };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}
const userFolder = (): string => {
  const d = mkdtempSync(path.join(dir, 'mine-'));
  writeFileSync(path.join(d, 'notes.txt'), 'my notes');
  return d;
};

describe('build --out never deletes what the user owns', () => {
  it('refuses a non-empty folder it did not make, and a file (e.g. an input checkpoint), before any work', async () => {
    const mine = userFolder();
    const r = await cli('build', '--gpu', 'sm_89', '--out', mine, '--no-cuda', '--no-emu');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out .*: is a non-empty folder svdq-codegen did not create \(notes\.txt\).*--force/);
    expect(readFileSync(path.join(mine, 'notes.txt'), 'utf8')).toBe('my notes');
    const ckpt = path.join(dir, 'model.safetensors');
    writeFileSync(ckpt, 'weights');
    const f = await cli('build', '--gpu', 'sm_89', '--out', ckpt, '--no-cuda', '--no-emu');
    expect(f.code).toBe(2);
    expect(f.err).toMatch(/is a file, not a folder/);
    expect(readFileSync(ckpt, 'utf8')).toBe('weights');
  });
  it('replaces a folder it made itself, and a user folder with --force', async () => {
    const out = path.join(dir, 'dist');
    const first = await cli('build', '--gpu', 'sm_89', '--out', out, '--no-cuda', '--no-emu');
    expect(first.code, first.err).toBe(0);
    expect(existsSync(path.join(out, '.svdq-codegen-output'))).toBe(true);
    const again = await cli('build', '--gpu', 'sm_89', '--gpu', 'sm_89', '--out', out, '--no-cuda', '--no-emu');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/for sm_89,/); // one target, not sm_89, sm_89
    const mine = userFolder();
    const forced = await cli('build', '--gpu', 'sm_89', '--out', mine, '--no-cuda', '--no-emu', '--force');
    expect(forced.code, forced.err).toBe(0);
    expect(readdirSync(mine)).toContain('manifest.json');
  }, 120_000);
  it('a missing --db is an error, not a build without tuned rows; a read-only --out fails before building', async () => {
    const r = await cli('build', '--gpu', 'sm_89', '--out', path.join(dir, 'd2'), '--db', path.join(dir, 'nope.json'), '--no-cuda', '--no-emu');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--db .*nope\.json: no such tuning database/);
    const ro = await cli('build', '--gpu', 'sm_89', '--out', `${READ_ONLY}/dist`, '--no-cuda', '--no-emu');
    expect(ro.code).toBe(2);
    expect(ro.err).toMatch(/--out \/sys\/svdq-nope\/dist: cannot (create the folder|write there)/);
  });
});

describe('tune and db: output paths checked first, never a hang', () => {
  it('tune --db /proc/nope/x.json, a read-only disk or a folder: exit 2 at once, before tuning', async () => {
    for (const [db, message] of [
      ['/proc/nope/x.json', /--db \/proc\/nope\/x\.json: cannot create the folder/],
      [`${READ_ONLY}/x.json`, /--db \/sys\/svdq-nope\/x\.json: cannot create the folder/],
      [dir, /--db .*: is a folder; give a file path/],
    ] as const) {
      const r = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', '512x3072x3072', '--db', db);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.ms).toBeLessThan(5000);
    }
  });
  it('tune --shapes ,, names no problem (it used to tune the whole model)', async () => {
    const r = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', ',,', '--db', path.join(dir, 't.json'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--shapes: ",," names no problem');
  });
  it('db merge --out /proc/nope/m.json or a folder: exit 2 at once', async () => {
    const good = path.join(dir, 'good.json');
    writeFileSync(good, serializeDb({ ...emptyDb(), records: [makeRecord()] }));
    for (const out of ['/proc/nope/m.json', dir]) {
      const r = await cli('db', 'merge', good, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--out /);
      expect(r.ms).toBeLessThan(5000);
    }
  });
  it('db check reports every file and every semantic problem, then exits 1', async () => {
    const good = path.join(dir, 'ok.json');
    writeFileSync(good, serializeDb({ ...emptyDb(), records: [makeRecord()] }));
    const bad = path.join(dir, 'bad.json');
    const r0 = makeRecord();
    writeFileSync(bad, serializeDb({ ...emptyDb(), records: [{ ...r0, gemmUri: 'garbage' }, { ...makeRecord({ n: 1024 }), bucket: { lo: 4096, hi: 2048 } }] }));
    const r = await cli('db', 'check', bad, path.join(dir, 'missing.json'), good);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json: invalid, \d+ problem\(s\)/);
    expect(r.err).toMatch(/records\[\d\] .*gemmUri: kernel URI 'garbage'/);
    expect(r.err).toMatch(/records\[\d\] .*bucket \(4096, 2048\] is empty or inverted/);
    expect(r.err).toMatch(/missing\.json: invalid, 1 problem\(s\):\n {2}does not exist/);
    expect(r.out).toMatch(/ok\.json: valid, 1 record/);
    expect(r.err).toContain('2 of 3 file(s) invalid');
  });
  it('tune --db on a semantically bad database names the file before tuning', async () => {
    const bad = path.join(dir, 'm3n5.json');
    const r0 = makeRecord();
    writeFileSync(bad, serializeDb({ ...emptyDb(), records: [{ ...r0, gemmUri: r0.gemmUri.replace('m128n128k64', 'm3n5k64') }] }));
    const r = await cli('tune', '--gpu', 'sm_89', '--mode', 'model', '--shapes', '512x3072x3072', '--db', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(new RegExp(`tuning database ${bad}: records\\[0\\] .*blockM: 3 must be a power of two`));
  });
});

describe('run, pack, gen, regress: path mistakes are clear errors, checked before the work', () => {
  it('run --in <dir>, --out <dir>, --out on a read-only disk', async () => {
    const input = path.join(dir, 'layer.safetensors');
    writeFileSync(input, 'not checked yet');
    for (const [args, message] of [
      [['--in', dir, '--out', path.join(dir, 'y.safetensors')], /--in .*: is a folder; give the layer file itself/],
      [['--in', path.join(dir, 'nope.safetensors'), '--out', path.join(dir, 'y.safetensors')], /--in .*nope\.safetensors: no such layer file/],
      [['--in', input, '--out', dir], /--out .*: is a folder; give a file path/],
      [['--in', input, '--out', `${READ_ONLY}/y.safetensors`], /--out \/sys\/svdq-nope\/y\.safetensors: cannot create the folder/],
    ] as const) {
      const r = await cli('run', '--gpu', 'sm_89', ...args);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error/);
    }
  });
  it('pack <dir>, pack --out <dir>', async () => {
    const a = await cli('pack', dir, '--from', 'logical', '--out', path.join(dir, 'p.safetensors'));
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/pack .*: is a folder; give the checkpoint itself/);
    const input = path.join(dir, 'in.safetensors');
    writeFileSync(input, 'x');
    const b = await cli('pack', input, '--from', 'logical', '--out', dir);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--out .*: is a folder/);
  });
  it('gen --out read-only, gen --spec … --out <existing file>', async () => {
    const spec = path.join(dir, 's.mts');
    writeFileSync(spec, "import { layer } from 'svdq-codegen';\nexport default layer({});\n");
    const file = path.join(dir, 'existing.txt');
    writeFileSync(file, 'keep');
    const a = await cli('gen', '--spec', spec, '--gpu', 'sm_89', '--out', file);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--out .*existing\.txt: cannot write there: .* is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('keep');
    const b = await cli('gen', '--out', `${READ_ONLY}/gen`);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--out \/sys\/svdq-nope\/gen: cannot create the folder/);
  });
  it('regress --json to a read-only path and --baseline /tmp/nope.json fail before the run', async () => {
    const a = await cli('regress', '--json', `${READ_ONLY}/r.json`);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/--json \/sys\/svdq-nope\/r\.json: cannot create the folder/);
    const b = await cli('regress', '--baseline', path.join(dir, 'nope.json'));
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--baseline .*nope\.json: no such baseline file/);
    expect(a.ms + b.ms).toBeLessThan(5000);
  });
});

describe('smaller items', () => {
  it('NO_COLOR=1 prints a plain error: even on a colour terminal', async () => {
    const level = chalk.level;
    const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    chalk.level = 1;
    Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
    process.env.NO_COLOR = '1';
    try {
      const r = await cli('tune', '--gpu', 'gtx1080');
      expect(r.err.startsWith('error: ')).toBe(true);
      expect(r.err).not.toContain('\x1b[');
    } finally {
      delete process.env.NO_COLOR;
      chalk.level = level;
      if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  });
  it('each --shard writes its own dispatch header (the Slurm recipe\'s tasks raced on one)', () => {
    const a = dispatchPathFor('/db/tune.json', 'rtx4090', { index: 0, count: 8 });
    const b = dispatchPathFor('/db/tune.json', 'rtx4090', { index: 7, count: 8 });
    expect(a).toBe('/db/dispatch/rtx4090.shard-0-of-8.h');
    expect(b).not.toBe(a);
    expect(dispatchPathFor('/db/tune.json', 'rtx4090', undefined)).toBeUndefined(); // tune's default header
    expect(dispatchPathFor('/db/tune.json', 'rtx4090', { index: 0, count: 8 }, '/x.h')).toBe('/x.h');
  });
  it('verify wraps URIs at their _ separators, never mid-token', () => {
    const uri = 'w4a4_int4g64_bf16_r32_m128n128k64_w2x4_s3_smem_f32acc_sm89_bias-lora-gelu-qnext.int4u4g64.r32';
    const lines = wrapUri(uri, 48).split('\n');
    expect(lines.join('')).toBe(uri);
    for (const l of lines.slice(0, -1)) expect(l.endsWith('_')).toBe(true);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(48);
  });
});
