// The g++ driver: cached engine library and programs, rebuilds when an included header changes,
// clear UserErrors with the g++ lines that matter, safe concurrent builds.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../../dsl/errors.js';
import { buildEmuProgram, buildEngineLibrary, runEmuProgram } from '../../../runtime/emu/build.js';

let dir: string;
const built = new Set<string>();
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'svdq-emu-build-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
  // Programs built from this run's temp sources can never be hit again: drop their cache entries.
  for (const bin of built) if (bin.includes(`${path.sep}.cache${path.sep}`)) await fs.rm(path.dirname(bin), { recursive: true, force: true });
});
const build = async (options: Parameters<typeof buildEmuProgram>[0]): Promise<string> => {
  const bin = await buildEmuProgram(options);
  built.add(bin);
  return bin;
};

const program = (header: string) => `#include "svdq/portable.h"
#include <cstdio>
#include "${header}"
__global__ void write_value(int* y) { svdq::emu::on_global_store(y, 4, 4, "st"); *y = VALUE; }
int main() {
  svdq::DeviceBuffer<int> y(1);
  SVDQ_LAUNCH(write_value, 1, 1, 0, nullptr)(y.data());
  std::printf("value %d\\n", y.download()[0]);
  return cudaGetLastError() == cudaSuccess ? 0 : 1;
}
`;

describe('buildEmuProgram', () => {
  it('reuses a cached build and rebuilds when an included header changes', async () => {
    await fs.writeFile(path.join(dir, 'value.h'), '#define VALUE 41');
    await fs.writeFile(path.join(dir, 'main.cu'), program('value.h'));
    const first = await build({ sources: [path.join(dir, 'main.cu')] });
    expect((await runEmuProgram(first)).stdout).toBe('value 41');
    expect(await build({ sources: [path.join(dir, 'main.cu')] })).toBe(first);

    await fs.writeFile(path.join(dir, 'value.h'), '#define VALUE 42');
    const second = await build({ sources: [path.join(dir, 'main.cu')] });
    expect(second).not.toBe(first);
    const r = await runEmuProgram(second);
    expect(r.stdout).toBe('value 42');
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0]).toMatchObject({ kernel: 'write_value', status: 'ok' });
  });

  it('defines, include dirs and out', async () => {
    const inc = path.join(dir, 'inc');
    await fs.mkdir(inc, { recursive: true });
    await fs.writeFile(path.join(inc, 'from_define.h'), '#define VALUE (BASE + 1)');
    await fs.writeFile(path.join(dir, 'defined.cu'), program('from_define.h'));
    const out = path.join(dir, 'bin', 'defined');
    const bin = await build({ sources: [path.join(dir, 'defined.cu')], includeDirs: [inc], defines: { BASE: '6' }, out });
    expect(bin).toBe(out);
    expect((await runEmuProgram(out)).stdout).toBe('value 7');
  });

  it('two concurrent builds of one program both succeed with one result', async () => {
    await fs.writeFile(path.join(dir, 'racy.h'), '#define VALUE 5');
    await fs.writeFile(path.join(dir, 'racy.cu'), program('racy.h'));
    const [a, b] = await Promise.all([0, 1].map(() => build({ sources: [path.join(dir, 'racy.cu')] })));
    expect(a).toBe(b);
    expect((await runEmuProgram(a)).stdout).toBe('value 5');
  });

  it('a compile error is a UserError quoting the g++ diagnostic', async () => {
    await fs.writeFile(path.join(dir, 'broken.cu'), '#include "svdq/portable.h"\nint main() { return not_declared_anywhere(); }');
    const err = await buildEmuProgram({ sources: [path.join(dir, 'broken.cu')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/g\+\+ failed compiling .*broken\.cu/);
    expect((err as Error).message).toMatch(/broken\.cu:2:\d+: error: 'not_declared_anywhere' was not declared/);
  });

  it('rejects a missing source by name', async () => {
    await expect(buildEmuProgram({ sources: [path.join(dir, 'nope.cu')] })).rejects.toThrow(/nope\.cu' does not exist/);
  });

  it('the engine library is built once per content', async () => {
    const lib = await buildEngineLibrary();
    expect(lib).toMatch(/\.cache\/emu\/engine\/.+\/libsvdqemu\.a$/);
    expect((await fs.stat(lib)).size).toBeGreaterThan(10_000);
  });
});
