// The interim main-loop counter (until codegen/inspect merges): loop detection and classes on small
// hand-written SASS and PTX, and the ELF patch reference/sass-inspection.md describes.
import { describe, expect, it } from 'vitest';
import { countPtx, countSass, patchCubinHeader, ptxClass, sassClass } from '../../tuner/compiled-counts.js';

const SASS = `
        /*0000*/                   IMAD.MOV.U32 R1, RZ, RZ, c[0x0][0x28] ;
.L_x_1:
        /*0010*/                   LDS.128 R4, [R2] ;
        /*0020*/                   IMMA.16864.S8.S8 R8, R4, R6, R8 ;
        /*0030*/                   IMMA.16864.S8.S8 R12, R4, R7, R12 ;
        /*0040*/                   I2FP.F32.S32 R16, R8 ;
        /*0050*/                   FFMA R20, R16, R3, R20 ;
        /*0060*/                   NOP ;
        /*0070*/                   IADD3 R2, R2, 0x10, RZ ;
        /*0080*/                   ISETP.GE.AND P0, PT, R2, R0, PT ;
        /*0090*/               @!P0 BRA \`(.L_x_1) ;
        /*00a0*/                   STG.E [R10], R20 ;
        /*00b0*/                   EXIT ;
`;

describe('compiled counts (interim counter)', () => {
  it('finds the backward branch holding the MMAs and counts per MMA, NOPs excluded', () => {
    const c = countSass(SASS)!;
    expect(c.mmas).toBe(2);
    expect(c.instructions).toBe(8);
    expect(c.perMma).toBe(4);
    expect(c.byClass).toEqual({ lsu: 0.5, tensor: 1, i2fp: 0.5, fp32: 0.5, int: 1, branch: 0.5 });
    expect(c.hasMufu).toBe(false);
  });

  it('returns null without a loop holding MMAs', () => {
    expect(countSass('        /*0000*/                   EXIT ;\n')).toBeNull();
  });

  it('counts Turing m8n8k32 as a quarter of m16n8k64', () => {
    const c = countSass(SASS.replaceAll('IMMA.16864', 'IMMA.8832'))!;
    expect(c.mmas).toBe(0.5);
    expect(c.perMma).toBe(16);
  });

  it('reads PTX loops (sm_120a: no disassembler)', () => {
    const ptx = `
\tmov.u32 \t%r1, 0;
$L__BB0_2:
\tld.shared.v4.u32 \t{%r2, %r3, %r4, %r5}, [%rd1];
\tmma.sync.aligned.m16n8k64.row.col.kind::mxf4nvf4.block_scale.scale_vec::4X.f32.e2m1.e2m1.f32.ue4m3 {%f1,%f2,%f3,%f4}, {%r2,%r3,%r4,%r5}, {%r6,%r7}, {%f1,%f2,%f3,%f4}, %r8, {0, 0}, %r9, {0, 0};
\tadd.s32 \t%r1, %r1, 1;
\tsetp.lt.s32 \t%p1, %r1, %r10;
\t@%p1 bra \t$L__BB0_2;
\tret;
`;
    const c = countPtx(ptx)!;
    expect(c.mmas).toBe(1);
    expect(c.instructions).toBe(5);
    expect(c.byClass.tensor).toBe(1);
    expect(c.byClass.lsu).toBe(1);
  });

  it('classifies pipes', () => {
    expect(sassClass('MUFU.EX2')).toBe('mufu');
    expect(sassClass('I2F.F32.S32')).toBe('conv');
    expect(sassClass('LDGSTS.E.BYPASS.128')).toBe('lsu');
    expect(ptxClass('cvt.rn.f32.s32')).toBe('conv');
    expect(ptxClass('fma.rn.f32')).toBe('fp32');
    expect(ptxClass('ex2.approx.f32')).toBe('mufu');
  });

  it('patches an nvcc-13 cubin header the way 11.8 tools read it (sm_89: e_flags 0x590559)', () => {
    const elf = Buffer.alloc(64);
    elf[7] = 0x41;
    elf[8] = 8;
    const out = patchCubinHeader(elf, 'sm_89');
    expect(out[7]).toBe(0x33);
    expect(out[8]).toBe(7);
    expect(out.readUInt32LE(0x30)).toBe(0x590559);
    expect(elf[7]).toBe(0x41); // a copy: the cached cubin is never touched
  });
});
