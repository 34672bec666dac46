// One GEMM problem as the CLI spells it, `MxNxK` (e.g. 4096x3072x3072), checked against what the
// kernels take: M ≥ 1, N a multiple of 16, K a multiple of 64 (docs/layouts.md).
import { UserError } from '../dsl/errors.js';

const SHAPE_RE = /^(\d+)x(\d+)x(\d+)$/i;

export function parseShapeText(s: string, flag: string): { m: number; n: number; k: number } {
  const m = SHAPE_RE.exec(s);
  if (!m) throw new UserError(`${flag}: ${JSON.stringify(s)} is not valid; expected MxNxK, e.g. 4096x3072x3072`);
  const [M, N, K] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (M < 1 || N % 16 !== 0 || K % 64 !== 0 || N < 16 || K < 64) {
    throw new UserError(`${flag}: ${s} is not valid; M ≥ 1, N a multiple of 16 and K a multiple of 64 (docs/layouts.md)`);
  }
  return { m: M, n: N, k: K };
}
