// The SASS and PTX parsers and the loop finder on recorded listings: a hand-written kernel with a known
// main loop (fixtures/known-loop.cu, its sm_89 cuobjdump output recorded with nvcc 13.0 + the 11.8 tools),
// so these run without nvcc or a disassembler.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countLoop, findLoops, findMainLoop, findQuantLoop, parsePtx, parseSass } from '../../../codegen/inspect/index.js';

const FIX = path.join(import.meta.dirname, 'fixtures');
const sass = parseSass(readFileSync(path.join(FIX, 'known-loop.sm89.sass'), 'utf8'));
const fn = (name: string) => sass.find((f) => f.name === name)!;

describe('parseSass', () => {
  it('reads every function and instruction with address, predicate, opcode and branch target', () => {
    expect(sass.map((f) => f.name).sort()).toEqual(['known_loop', 'known_loop_div']);
    const k = fn('known_loop');
    expect(k.level).toBe('sass');
    expect(k.instrs[0]).toMatchObject({ addr: 0, opcode: 'IMAD.MOV.U32', base: 'IMAD', operands: 'R1, RZ, RZ, c[0x0][0x28]' });
    const back = k.instrs.find((i) => i.addr === 0x290)!;
    expect(back).toMatchObject({ pred: '!P0', opcode: 'BRA', base: 'BRA', target: 0x180 });
    const mma = k.instrs.filter((i) => i.opcode === 'IMMA.16864.S4.S4');
    expect(mma).toHaveLength(4);
    // addresses ascend by 16 bytes, the encoding comments are not instructions
    expect(k.instrs.every((i, n) => n === 0 || i.addr === k.instrs[n - 1].addr + 16)).toBe(true);
  });
});

describe('findMainLoop / countLoop', () => {
  it('finds the known loop and counts it by class', () => {
    const k = fn('known_loop');
    const loops = findLoops(k);
    // the trailing `BRA .` trap after EXIT branches to itself: no loop body
    expect(loops.map((l) => [l.start, l.end])).toEqual([[0x180, 0x290]]);
    const main = findMainLoop(k)!;
    expect(main.start).toBe(0x180);
    const c = countLoop(k, main);
    expect(c.instructions).toBe(18);
    expect(c.mmas).toBe(4);
    expect(c.byClass).toMatchObject({ tensor: 4, ldg: 2, bar: 1, conv: 1, fp32: 1, int: 6, move: 2, branch: 1, mufu: 0, lds: 0, other: 0 });
    expect(Object.values(c.byClass).reduce((a, b) => a + b, 0)).toBe(c.instructions);
    expect(c).toMatchObject({ barriers: 1, hasMufu: false, hasCall: false, hasDivision: false, hasBssy: false, calledInstructions: 0 });
  });

  it('flags an integer division in the loop (MUFU.RCP + I2F.RP + F2I.TRUNC)', () => {
    const k = fn('known_loop_div');
    const c = countLoop(k, findMainLoop(k)!);
    expect(c.mmas).toBe(4);
    expect(c.hasMufu).toBe(true);
    expect(c.hasDivision).toBe(true);
    expect(c.instructions).toBeGreaterThan(18);
  });

  it('a long loop closed by `@P CALL.REL.NOINC <after the loop>; BRA <top>` holds no CALL; a real call still counts', () => {
    const text = [
      'Function : latch',
      '/*0000*/ MOV R1, R2 ;',
      '/*0010*/ IMMA.16864.S4.S4 R4, R8.ROW, R12.COL, R4 ;',
      '/*0020*/ ISETP.GE.AND P0, PT, R1, 0x8, PT ;',
      '/*0030*/ @P0 CALL.REL.NOINC 0x50 ;',
      '/*0040*/ BRA 0x10 ;',
      '/*0050*/ EXIT ;',
      '/*0060*/ IADD3 R1, R1, 0x1, RZ ;',
      '/*0070*/ RET.REL.NODEC R20 0x0 ;',
    ].join('\n');
    const [k] = parseSass(text);
    const c = countLoop(k, findMainLoop(k)!);
    expect(c).toMatchObject({ mmas: 1, hasCall: false, calledInstructions: 0 });
    const [called] = parseSass(text.replace('@P0 CALL.REL.NOINC 0x50', 'CALL.REL.NOINC 0x60'));
    const d = countLoop(called, findMainLoop(called)!);
    expect(d).toMatchObject({ hasCall: true, calledInstructions: 2 });
  });

  it('a loop without MMAs is no main loop', () => {
    const k = { ...fn('known_loop'), instrs: fn('known_loop').instrs.filter((i) => i.base !== 'IMMA') };
    expect(findMainLoop(k)).toBeUndefined();
  });

  it('the quantization loop is the one with the most code conversions, or the largest innermost loop', () => {
    const text = [
      'Function : q',
      '/*0000*/ MOV R1, R2 ;',
      '/*0010*/ F2I.NTZ R3, R4 ;',
      '/*0020*/ F2I.NTZ R3, R4 ;',
      '/*0030*/ @P0 BRA 0x10 ;',
      '/*0040*/ FADD R1, R1, R1 ;',
      '/*0050*/ FADD R1, R1, R1 ;',
      '/*0060*/ FADD R1, R1, R1 ;',
      '/*0070*/ @P1 BRA 0x40 ;',
      '/*0080*/ EXIT ;',
    ].join('\n');
    const [q] = parseSass(text);
    expect(findQuantLoop(q, true)?.start).toBe(0x10);
    expect(findQuantLoop(q, false)?.start).toBe(0x40);
    // no conversions to go by (codes rounded by integer arithmetic): the largest innermost loop
    const [plain] = parseSass(text.replace(/F2I\.NTZ/g, 'IADD3'));
    expect(findQuantLoop(plain, true)?.start).toBe(0x40);
  });
});

describe('parsePtx', () => {
  const ptx = [
    '.version 8.8',
    '.target sm_120a',
    '.visible .entry k(',
    '\t.param .u64 k_param_0',
    ')',
    '{',
    '\t.reg .b32 %r<9>;',
    '$L__BB0_2:',
    '\tld.global.nc.v4.u32 {%r1, %r2, %r3, %r4}, [%rd1];',
    '\tmma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%r5,%r6,%r7,%r8}, {%r1,%r2,%r3,%r4}, {%r1,%r2}, {%r5,%r6,%r7,%r8};',
    '\t{ cvt.rn.f32.s32 %f1, %r5; }',
    '\tbar.sync 0;',
    '\tadd.s32 %r1, %r1, 1; setp.lt.s32 %p1, %r1, 8;',
    '\t@%p1 bra $L__BB0_2;',
    '\tret;',
    '}',
  ].join('\n');
  it('reads statements (several per line, braces, labels) and resolves branch labels', () => {
    const [k] = parsePtx(ptx);
    expect(k).toMatchObject({ name: 'k', level: 'ptx' });
    expect(k.instrs.map((i) => i.base)).toEqual(['ld', 'mma', 'cvt', 'bar', 'add', 'setp', 'bra', 'ret']);
    expect(k.instrs[6]).toMatchObject({ pred: '%p1', target: 0 });
    const c = countLoop(k, findMainLoop(k)!);
    expect(c).toMatchObject({ instructions: 7, mmas: 1, barriers: 1 });
    expect(c.byClass).toMatchObject({ ldg: 1, tensor: 1, conv: 1, bar: 1, int: 2, branch: 1 });
  });
});
