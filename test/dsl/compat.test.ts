import { describe, expect, it } from 'vitest';
import { checkSpecOnTarget, targetsFor } from '../../dsl/compat.js';
import { qnext } from '../../dsl/epilogue.js';
import { int4, mxfp4, nvfp4 } from '../../dsl/formats.js';
import { layer } from '../../dsl/spec.js';
import { resolveGpu } from '../../dsl/targets.js';
import { expectSpecError } from './expect-spec-error.js';

describe('checkSpecOnTarget', () => {
  it('INT4 runs on sm_75–89, NVFP4/MXFP4 on sm_120a', () => {
    expect(() => checkSpecOnTarget(layer({}), resolveGpu('rtx4090'))).not.toThrow();
    expect(() => checkSpecOnTarget(layer({ format: nvfp4() }), resolveGpu('rtx5090'))).not.toThrow();
    expect(() => checkSpecOnTarget(layer({ format: mxfp4() }), resolveGpu('rtxpro6000'))).not.toThrow();
    expectSpecError(() => checkSpecOnTarget(layer({}), resolveGpu('rtx5090')), 'format.kind', 'int4', 'allowed there: nvfp4, mxfp4');
    expectSpecError(() => checkSpecOnTarget(layer({ format: nvfp4() }), resolveGpu('rtx4090')), 'format.kind', 'nvfp4', 'allowed there: int4');
  });
  it('says when a GPU has no 4-bit tensor cores at all', () => {
    expectSpecError(() => checkSpecOnTarget(layer({}), resolveGpu('h100')), 'format.kind', 'int4', 'has no 4-bit tensor cores');
    expectSpecError(() => checkSpecOnTarget(layer({ format: nvfp4() }), resolveGpu('b200')), 'format.kind', 'nvfp4', 'tcgen05');
  });
  it('bf16 needs sm_80+', () => {
    expectSpecError(() => checkSpecOnTarget(layer({ dtype: 'bf16' }), resolveGpu('t4')), 'dtype', 'bf16', 'allowed on NVIDIA T4 (sm_75): fp16');
    expectSpecError(() => checkSpecOnTarget(layer({ dtype: 'fp16', format: int4({ scaleDtype: 'bf16' }) }), resolveGpu('rtx2080ti')), 'format.scaleDtype', 'bf16', 'fp16');
    expect(() => checkSpecOnTarget(layer({ dtype: 'fp16', format: 'int4' }), resolveGpu('t4'))).not.toThrow();
  });
  it('checks the qnext format too', () => {
    const s = layer({ format: nvfp4(), epilogue: ['bias', 'lowrank', 'gelu', qnext({ format: int4() })] });
    expectSpecError(() => checkSpecOnTarget(s, resolveGpu('rtx5090')), 'epilogue[3].format.kind', 'int4', 'allowed there: nvfp4, mxfp4');
    const t = layer({ dtype: 'fp16', format: 'int4', epilogue: ['bias', 'lowrank', 'gelu', qnext({ format: int4({ scaleDtype: 'bf16' }) })] });
    expectSpecError(() => checkSpecOnTarget(t, resolveGpu('t4')), 'epilogue[3].format.scaleDtype', 'bf16', 'fp16');
  });
  it('targetsFor lists default targets first', () => {
    const ids = targetsFor(layer({})).map((t) => t.id);
    expect(ids.slice(0, 3)).toEqual(['a100', 'rtx3090', 'rtx4090']);
    expect(ids).toContain('l40s');
    expect(ids).not.toContain('t4'); // bf16 default dtype
    expect(targetsFor(layer({ format: nvfp4() })).map((t) => t.id)).toEqual(['rtx5090', 'gb10', 'rtxpro6000']);
  });
});
