// Instruction classes of the inspect report, for SASS opcodes and for PTX (sm_120a/121a). The classes
// follow what limits a main loop: the tensor pipe, memory (global, cp.async, shared), barriers,
// conversions (the 16/SM pipe), FP32, FP16x2, MUFU, integer/address arithmetic, control flow, moves.
import type { Instr } from './sass.js';

export const CLASSES = ['tensor', 'ldg', 'ldgsts', 'lds', 'sts', 'bar', 'conv', 'fp32', 'fp16x2', 'mufu', 'int', 'branch', 'move', 'other'] as const;
export type InstrClass = (typeof CLASSES)[number];

/** Column titles for tables (docs/inspect.md lists what each class holds: LDS = LDS+LDSM, BAR = BAR+DEPBAR…). */
export const CLASS_TITLES: Record<InstrClass, string> = {
  tensor: 'tensor',
  ldg: 'LDG',
  ldgsts: 'LDGSTS',
  lds: 'LDS',
  sts: 'STS',
  bar: 'BAR',
  conv: 'conv',
  fp32: 'FP32',
  fp16x2: 'FP16x2',
  mufu: 'MUFU',
  int: 'int',
  branch: 'branch',
  move: 'move',
  other: 'other',
};

const SASS_CLASS: Array<[RegExp, InstrClass]> = [
  [/^(IMMA|HMMA|OMMA|QMMA|DMMA|BMMA|UTCMMA|HGMMA|IGMMA)$/, 'tensor'],
  [/^LDGSTS$/, 'ldgsts'],
  [/^LDG$/, 'ldg'],
  [/^(LDS|LDSM)$/, 'lds'],
  [/^STS$/, 'sts'],
  [/^(BAR|DEPBAR|LDGDEPBAR|MEMBAR|ARRIVES|SYNCS|WARPSYNC)$/, 'bar'],
  [/^(I2F|I2FP|F2I|F2F|F2FP|FRND|I2I|F2IP)$/, 'conv'],
  [/^(FADD|FMUL|FFMA|FSET|FSETP|FMNMX|FSEL|FCHK|FSWZADD|FMUL32I|FADD32I|FFMA32I)$/, 'fp32'],
  [/^(HADD2|HMUL2|HFMA2|HSET2|HSETP2|HMNMX2)$/, 'fp16x2'],
  [/^MUFU$/, 'mufu'],
  [/^(BRA|BRX|JMP|JMX|BSSY|BSYNC|CALL|RET|EXIT|BREAK|BPT|KILL|NANOSLEEP|YIELD|SSY|SYNC|PBK|PCNT|BRK|CONT)$/, 'branch'],
  [/^(MOV|MOV32I|PRMT|SEL|S2R|S2UR|CS2R|UMOV|R2UR|ULDC|UPRMT|USEL|P2R|R2P|SHFL|VOTE|VOTEU|PLOP3|UPLOP3)$/, 'move'],
  [/^(IADD3|IADD|IADD32I|IMAD|IMAD32I|IMUL|IMUL32I|LOP3|LOP|LOP32I|SHF|SHL|SHR|LEA|ISETP|IMNMX|IABS|POPC|FLO|BREV|BMSK|IDP|IDP4A|ISCADD|XMAD|UIADD3|UIMAD|ULOP3|USHF|ULEA|UISETP|UFLO|UBMSK|UPOPC|VIADD|VIMNMX)$/, 'int'],
];

function sassClass(i: Instr): InstrClass {
  // An IMAD that only copies an operand is how ptxas spells a move on the FMA datapath.
  if (i.opcode.startsWith('IMAD.MOV') || i.opcode.startsWith('UIMAD.MOV')) return 'move';
  for (const [re, cls] of SASS_CLASS) if (re.test(i.base)) return cls;
  return 'other';
}

const PTX_FLOAT = /\.(f16|bf16|f32|f64|e2m1x2|e4m3x2|e5m2x2|ue8m0x2|tf32|f16x2|bf16x2)\b/;

function ptxClass(i: Instr): InstrClass {
  const op = i.opcode;
  const b = i.base;
  if (b === 'mma' || b === 'wmma') return 'tensor';
  if (b === 'cp' && op.startsWith('cp.async.') && !/wait|commit|mbarrier/.test(op)) return 'ldgsts';
  if (b === 'cp') return 'bar';
  if (b === 'ld' && (op.includes('.global') || op.startsWith('ld.global'))) return 'ldg';
  if (b === 'ldu') return 'ldg';
  if ((b === 'ld' && op.includes('.shared')) || b === 'ldmatrix') return 'lds';
  if (b === 'st' && op.includes('.shared')) return 'sts';
  if (b === 'bar' || b === 'barrier' || b === 'membar' || b === 'fence') return 'bar';
  if (b === 'cvt') return PTX_FLOAT.test(op) ? 'conv' : 'move';
  if (['rcp', 'sqrt', 'rsqrt', 'ex2', 'lg2', 'sin', 'cos', 'tanh'].includes(b)) return op.includes('.approx') ? 'mufu' : 'fp32';
  if (['bra', 'call', 'ret', 'exit', 'brx', 'trap'].includes(b)) return 'branch';
  if (['mov', 'prmt', 'selp', 'shfl', 'vote', 'activemask'].includes(b)) return 'move';
  if (['add', 'sub', 'mul', 'fma', 'mad', 'min', 'max', 'neg', 'abs', 'setp', 'set', 'div', 'rem', 'testp', 'copysign'].includes(b)) {
    if (/\.(f16x2|bf16x2|f16|bf16)\b/.test(op)) return 'fp16x2';
    if (/\.(f32|f64|ftz|rn|rz|rm|rp)\b/.test(op) && !/\.(s|u|b)(16|32|64)\b/.test(op)) return 'fp32';
    return 'int';
  }
  if (['and', 'or', 'xor', 'not', 'shl', 'shr', 'shf', 'lop3', 'bfe', 'bfi', 'popc', 'clz', 'brev', 'bfind', 'cnot', 'mul24', 'mad24', 'sad', 'dp4a', 'dp2a'].includes(b)) return 'int';
  return 'other';
}

export function classify(i: Instr, level: 'sass' | 'ptx'): InstrClass {
  return level === 'sass' ? sassClass(i) : ptxClass(i);
}

/**
 * How many m16n8k64 4-bit MMAs one instruction is: IMMA.16864 (s4/u4) 1; Turing IMMA.8832 (m8n8k32) ¼;
 * sm_90's IMMA.16832.S8.S8 (an m16n8k32 int8 MMA; ptxas emits two per s4 m16n8k64 plus unpacking) ½;
 * PTX mma.sync m16n8k64 (s4/u4, e2m1 block-scaled) 1, m8n8k32 ¼. Everything else 0.
 */
export function mmaUnits(i: Instr, level: 'sass' | 'ptx'): number {
  if (level === 'sass') {
    if (i.base !== 'IMMA') return 0;
    if (/^IMMA\.16864\.[SU]4\.[SU]4/.test(i.opcode)) return 1;
    if (/^IMMA\.8832\.[SU]4\.[SU]4/.test(i.opcode)) return 0.25;
    if (/^IMMA\.16832\.[SU]8\.[SU]8/.test(i.opcode)) return 0.5;
    return 0;
  }
  if (i.base !== 'mma') return 0;
  if (/\.m16n8k64\./.test(i.opcode) && /\.(s4|u4|e2m1)\b|kind::mxf4/.test(i.opcode)) return 1;
  if (/\.m8n8k32\./.test(i.opcode) && /\.(s4|u4)\b/.test(i.opcode)) return 0.25;
  return 0;
}

/** A float→int rounding of quantization (codes): F2I/FRND in SASS, cvt.rni/e2m1 in PTX. */
export function isQuantConversion(i: Instr, level: 'sass' | 'ptx'): boolean {
  if (level === 'sass') return i.base === 'F2I' || i.base === 'FRND' || (i.base === 'F2FP' && /E2M1/.test(i.opcode));
  return i.base === 'cvt' && (/\.rni\.[su]\d+\.f32/.test(i.opcode) || /e2m1x2\.f32/.test(i.opcode));
}
