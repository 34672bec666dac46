// `build --embed` (issue 17 part 4): one header + source pair per kernel family with the cubins
// embedded. The pair compiles with g++ and nvcc, the header as C; a C caller plus the pairs link with
// nothing left undefined but the CUDA driver API; the embedded bytes are the cubins nvcc produced for
// these kernels, and every entry the launchers look up is in its cubin.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackage, type BuildResult } from '../../export/build.js';
import { cIdent } from '../../export/embed.js';
import { compileCuda, nvccPath } from '../../codegen/nvcc.js';
import { renderKernel } from '../../codegen/render.js';
import type { KernelSpec } from '../../dsl/types.js';
import { SMALL_TILE, SPEC } from './helpers.js';

const FP16_SILU: KernelSpec = {
  format: { kind: 'int4', group: 128, scaleDtype: 'fp16' },
  activation: { unsigned: false, shift: 0 },
  dtype: 'fp16',
  lowRank: { rank: 16 },
  epilogue: [{ op: 'bias' }, { op: 'lowrank' }, { op: 'silu' }],
};

let dir: string;
let dist: BuildResult;
let cudaInclude: string;

/** The CUDA toolkit's include folder, as nvcc itself passes it to the host compiler. */
async function nvccInclude(): Promise<string> {
  const probe = path.join(dir, 'probe.cpp');
  await fs.writeFile(probe, '');
  const r = await execa(nvccPath(), ['--dryrun', '-c', probe], { all: true, reject: false });
  const m = /INCLUDES="-I([^"]+)"/.exec(r.all ?? '');
  if (!m) throw new Error(`cannot find the CUDA include folder in nvcc --dryrun:\n${r.all}`);
  return m[1].trim();
}

function embeddedArrays(source: string): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const m of source.matchAll(/k_cubin_(\d+)\[(\d+)\] = \{\n([\s\S]*?)\n\};/g)) {
    const bytes = Uint8Array.from([...m[3].matchAll(/0x([0-9a-f]{2})/g)].map((b) => parseInt(b[1], 16)));
    expect(bytes.length).toBe(Number(m[2]));
    out.set(Number(m[1]), bytes);
  }
  return out;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-embed-'));
  cudaInclude = await nvccInclude();
  // Two families; the first with two GEMM tiles (one activation kernel, embedded once).
  dist = await buildPackage({ gpus: ['sm_89'], out: path.join(dir, 'dist'), specs: [SPEC, FP16_SILU], extraTiles: [SMALL_TILE], cuda: false, emu: false, embed: true });
}, 600_000);
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('build --embed', () => {
  it('writes one header + source pair per kernel family, and an index', async () => {
    const families = [...new Set(dist.selection.kernels.map((k) => k.family))];
    expect(families).toHaveLength(2);
    for (const f of families) {
      expect(dist.files).toContain(`embed/${cIdent(f)}.h`);
      expect(dist.files).toContain(`embed/${cIdent(f)}.cpp`);
    }
    const index = JSON.parse(await fs.readFile(path.join(dist.out, 'embed', 'index.json'), 'utf8'));
    const first = index.families.find((f: { family: string }) => f.family === dist.selection.kernels[0].family);
    expect(first.cubins).toHaveLength(3); // one activation kernel + two GEMM tiles
  });

  it('embeds byte for byte the cubins nvcc produced, with every looked-up entry inside', async () => {
    for (const k of dist.selection.kernels) {
      const source = await fs.readFile(path.join(dist.out, 'embed', `${cIdent(k.family)}.cpp`), 'utf8');
      const arrays = embeddedArrays(source);
      for (const plan of [k.act, k.gemm]) {
        const nvcc = await compileCuda({ sources: [{ name: `${plan.uri}.cu`, text: renderKernel(plan) }], arch: plan.arch, kind: 'cubin' });
        const want = new Uint8Array(await fs.readFile(nvcc.path));
        const index = Number(new RegExp(`// ${plan.uri.replace(/[.]/g, '\\.')}: \\d+ bytes[^\\n]*\\nalignas\\(8\\) const unsigned char k_cubin_(\\d+)`).exec(source)![1]);
        const got = arrays.get(index)!;
        expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
        expect([...got.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // ELF
        expect(got[18] | (got[19] << 8)).toBe(190); // e_machine EM_CUDA
        for (const e of nvcc.ptxas.filter((p) => p.entry)) {
          expect(source).toContain(`"${e.kernel}"`);
          expect(Buffer.from(got).includes(Buffer.from(e.kernel))).toBe(true);
        }
      }
    }
  }, 120_000);

  it('compiles with g++ and nvcc, the header as C, and links with only the driver API left to resolve', async () => {
    const embed = path.join(dist.out, 'embed');
    const sources = dist.files.filter((f) => f.startsWith('embed/') && f.endsWith('.cpp')).map((f) => path.join(dist.out, f));
    const objects: string[] = [];
    for (const src of sources) {
      const obj = `${src}.o`;
      await execa('g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-fPIC', `-I${cudaInclude}`, '-c', src, '-o', obj]);
      await execa(nvccPath(), ['-std=c++17', '-Xcompiler', '-fPIC', '-c', src, '-o', `${src}.nvcc.o`]);
      objects.push(obj);
    }
    // A C caller of every launcher of every family.
    const calls: string[] = [];
    const includes: string[] = [];
    for (const f of [...new Set(dist.selection.kernels.map((k) => k.family))]) {
      includes.push(`#include "${cIdent(f)}.h"`);
      calls.push(`  if (svdq_embed_${cIdent(f)}_load() == CUDA_SUCCESS) svdq_embed_${cIdent(f)}_unload();`, `  (void)svdq_embed_${cIdent(f)}_last_result();`);
    }
    for (const k of dist.selection.kernels) {
      const g = `svdq_embed_${cIdent(k.gemm.uri)}`;
      calls.push(`  if (${g}_act(&a, 0) != SVDQ_ERR_INVALID_ARG || ${g}(&g, 0) != SVDQ_ERR_INVALID_ARG) return 1;`);
    }
    const caller = path.join(embed, 'caller.c');
    await fs.writeFile(caller, `${includes.join('\n')}\nint svdq_embed_caller(void) {\n  svdq_act_args_t a = {0};\n  svdq_gemm_args_t g = {0};\n${calls.join('\n')}\n  return 0;\n}\n`);
    await execa('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-fPIC', `-I${cudaInclude}`, `-I${embed}`, '-c', caller, '-o', `${caller}.o`]);
    const lib = path.join(embed, 'libcaller.so');
    await execa('g++', ['-shared', `${caller}.o`, ...objects, '-o', lib]);
    const undefinedSymbols = (await execa('nm', ['-u', '--format=posix', lib])).stdout
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((s) => s && !/@|^_ITM_|^__gmon_start__$|^_Unwind_|^__gxx_personality|^__cxa_/.test(s));
    expect(undefinedSymbols.filter((s) => !/^cu[A-Z]/.test(s))).toEqual([]);
    expect(undefinedSymbols).toEqual(expect.arrayContaining(['cuModuleLoadData', 'cuModuleGetFunction', 'cuLaunchKernel']));
  }, 300_000);
});
