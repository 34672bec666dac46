// Finding a SASS disassembler and making nvcc-13 cubins readable by it (reference/sass-inspection.md).
// Order: $SVDQ_CUOBJDUMP; $CUDA_HOME/bin; next to the nvcc in use; PATH; the tools cache
// ($SVDQ_TOOLS_DIR, default <repo>/.cache/cuda-tools), which `installDisassembler` fills from Debian
// bookworm non-free `nvidia-cuda-toolkit` (11.8) with apt-get download + dpkg -x: a private sources list
// and state folder, no system change, only cuobjdump and nvdisasm kept.
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { UserError } from '../../dsl/errors.js';
import { REPO_ROOT } from '../cache.js';
import { nvccPath } from '../nvcc.js';

export interface Disassembler {
  cuobjdump: string;
  /** Where it was found, for reports: 'SVDQ_CUOBJDUMP', 'CUDA_HOME', 'nvcc', 'PATH' or 'cache'. */
  from: string;
}

/** `$SVDQ_TOOLS_DIR`, else `<repo>/.cache/cuda-tools`; the fetched tools live in `<dir>/bin`. */
export function toolsDir(): string {
  const env = process.env.SVDQ_TOOLS_DIR;
  return env && env.length > 0 ? path.resolve(env) : path.join(REPO_ROOT, '.cache', 'cuda-tools');
}

function onPath(exe: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, exe);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** The cuobjdump to use, or undefined when none is installed anywhere we look. */
export function findDisassembler(): Disassembler | undefined {
  const env = process.env.SVDQ_CUOBJDUMP;
  if (env && env.length > 0) {
    if (!existsSync(env)) throw new UserError(`$SVDQ_CUOBJDUMP: '${env}' does not exist; point it at a cuobjdump binary or unset it`);
    return { cuobjdump: env, from: 'SVDQ_CUOBJDUMP' };
  }
  const cudaHome = process.env.CUDA_HOME;
  if (cudaHome && existsSync(path.join(cudaHome, 'bin', 'cuobjdump'))) return { cuobjdump: path.join(cudaHome, 'bin', 'cuobjdump'), from: 'CUDA_HOME' };
  const nvcc = nvccPath().includes(path.sep) ? nvccPath() : onPath(nvccPath());
  if (nvcc && existsSync(path.join(path.dirname(nvcc), 'cuobjdump'))) return { cuobjdump: path.join(path.dirname(nvcc), 'cuobjdump'), from: 'nvcc' };
  const p = onPath('cuobjdump');
  if (p) return { cuobjdump: p, from: 'PATH' };
  const cached = path.join(toolsDir(), 'bin', 'cuobjdump');
  if (existsSync(cached)) return { cuobjdump: cached, from: 'cache' };
  return undefined;
}

/** Like findDisassembler, but a UserError saying how to get one when there is none. */
export function requireDisassembler(): Disassembler {
  const d = findDisassembler();
  if (d) return d;
  throw new UserError(
    `no SASS disassembler: cuobjdump is not in $CUDA_HOME/bin, next to nvcc, on PATH or in ${path.join(toolsDir(), 'bin')}; ` +
      'install a CUDA toolkit, set $SVDQ_CUOBJDUMP, or run .ci/install-disassembler.sh (fetches Debian’s nvidia-cuda-toolkit 11.8 into the tools cache)',
  );
}

/** The Debian mirror the machine already uses (deb822 or one-line sources), else deb.debian.org. */
async function debianMirror(): Promise<string> {
  const files = ['/etc/apt/sources.list', ...(await fs.readdir('/etc/apt/sources.list.d').catch(() => [])).map((f) => `/etc/apt/sources.list.d/${f}`)];
  for (const f of files) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    const m = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm\b/m.exec(text);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

/**
 * Fetches cuobjdump + nvdisasm (CUDA 11.8, Debian bookworm non-free) into `<toolsDir>/bin`; returns the
 * cuobjdump path. Nothing outside the tools folder (and a temp folder) is written.
 */
export async function installDisassembler(dest: string = toolsDir(), log: (line: string) => void = () => undefined): Promise<string> {
  const bin = path.join(dest, 'bin');
  if (existsSync(path.join(bin, 'cuobjdump')) && existsSync(path.join(bin, 'nvdisasm'))) return path.join(bin, 'cuobjdump');
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-cuda-tools-'));
  try {
    const lists = path.join(work, 'lists');
    await fs.mkdir(path.join(lists, 'partial'), { recursive: true });
    const sources = path.join(work, 'sources.list');
    await fs.writeFile(sources, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${await debianMirror()} bookworm non-free\n`);
    const opts = ['-o', `Dir::Etc::SourceList=${sources}`, '-o', 'Dir::Etc::SourceParts=/dev/null', '-o', `Dir::State::Lists=${lists}`, '-o', 'APT::Sandbox::User=root', '-o', `Dir::Cache=${work}`];
    log('apt-get update (private sources list: bookworm non-free)');
    await execa('apt-get', [...opts, '-qq', 'update'], { cwd: work });
    log('apt-get download nvidia-cuda-toolkit');
    await execa('apt-get', [...opts, '-qq', 'download', 'nvidia-cuda-toolkit'], { cwd: work });
    const deb = (await fs.readdir(work)).find((f) => f.startsWith('nvidia-cuda-toolkit_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download produced no nvidia-cuda-toolkit .deb');
    const x = path.join(work, 'x');
    log(`dpkg -x ${deb}`);
    await execa('dpkg', ['-x', path.join(work, deb), x]);
    await fs.mkdir(bin, { recursive: true });
    for (const tool of ['nvdisasm', 'cuobjdump']) {
      // Publish each tool with one rename so a concurrent reader never sees half a binary.
      const tmp = path.join(bin, `.${tool}.${process.pid}`);
      await fs.copyFile(path.join(x, 'usr', 'bin', tool), tmp);
      await fs.chmod(tmp, 0o755);
      await fs.rename(tmp, path.join(bin, tool));
    }
    return path.join(bin, 'cuobjdump');
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The SM number an 11.8 disassembler reads (sm_75 … sm_90); undefined for archs it does not know. */
export function disassemblableSm(arch: string): number | undefined {
  const m = /^sm_(\d+)$/.exec(arch);
  if (!m) return undefined;
  const sm = Number(m[1]);
  return sm >= 75 && sm <= 90 ? sm : undefined;
}

/**
 * A copy of a cubin whose ELF header CUDA 11.8 tools read: nvcc 13 writes EI_OSABI 0x41, EI_ABIVERSION 8
 * and the SM in bits 8–15 of e_flags; 11.8 expects 0x33, 7 and (sm << 16) | 0x500 | sm.
 */
export function rewriteCubinHeader(cubin: Uint8Array, sm: number): Buffer {
  const b = Buffer.from(cubin);
  if (b.length < 0x34 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (b[4] !== 2) throw new Error('not a 64-bit ELF cubin');
  b[7] = 0x33;
  b[8] = 7;
  b.writeUInt32LE(((sm << 16) | 0x500 | sm) >>> 0, 0x30);
  return b;
}

/** `cuobjdump -sass` of a cubin (header rewritten in a temporary copy); the text as printed. */
export async function disassemble(cubinPath: string, arch: string, disassembler: Disassembler = requireDisassembler()): Promise<string> {
  const sm = disassemblableSm(arch);
  if (sm === undefined) throw new UserError(`arch '${arch}': the CUDA 11.8 disassembler reads sm_75 … sm_90 only; use PTX-level counts`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-sass-'));
  try {
    const copy = path.join(dir, 'kernel.cubin');
    await fs.writeFile(copy, rewriteCubinHeader(await fs.readFile(cubinPath), sm));
    const { stdout } = await execa(disassembler.cuobjdump, ['-sass', copy], { env: { LC_ALL: 'C' } });
    if (!/Function\s*:/.test(stdout)) throw new Error(`${disassembler.cuobjdump} printed no function for ${cubinPath} (${arch})`);
    return stdout;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
