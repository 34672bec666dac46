// Parsing `cuobjdump -sass` text into instructions, and PTX text into the same shape (sm_120a/121a have
// no disassembler here: their counts are PTX-level). An instruction's `addr` orders it and names branch
// targets: SASS byte addresses, PTX instruction indices.

export interface Instr {
  addr: number;
  /** Guard predicate without '@', e.g. '!P0' (undefined when unguarded). */
  pred?: string;
  /** Opcode with its modifiers, e.g. 'IMMA.16864.S4.S4', 'mma.sync.aligned.m16n8k64.row.col…'. */
  opcode: string;
  /** Opcode without modifiers, e.g. 'IMMA', 'mma'. */
  base: string;
  operands: string;
  /** Branch/call target address when the operand is one (BRA, CALL.REL, PTX bra/call to a label). */
  target?: number;
}

export interface AsmFunction {
  name: string;
  instrs: Instr[];
  /** 'sass' (cuobjdump) or 'ptx'. */
  level: 'sass' | 'ptx';
}

// `/*0a10*/  @!P0 BRA 0x1310 ;  /* 0x… */` (the encoding comment is optional and ignored)
const SASS_LINE = /^\s*\/\*([0-9a-f]+)\*\/\s+(?:@(!?U?P[0-9T]+)\s+)?([A-Z][A-Z0-9_.]*)\s*([^;]*);/;

/** Every function of a cuobjdump -sass listing, instructions in address order. */
export function parseSass(text: string): AsmFunction[] {
  const out: AsmFunction[] = [];
  let current: AsmFunction | undefined;
  for (const line of text.split(/\r?\n/)) {
    const f = /^\s*Function\s*:\s*(\S+)/.exec(line);
    if (f) {
      current = { name: f[1], instrs: [], level: 'sass' };
      out.push(current);
      continue;
    }
    const m = SASS_LINE.exec(line);
    if (!m || !current) continue;
    const opcode = m[3];
    const operands = m[4].trim();
    const instr: Instr = { addr: parseInt(m[1], 16), opcode, base: opcode.split('.')[0], operands };
    if (m[2]) instr.pred = m[2];
    if (/^(BRA|CALL|BSSY|SSY|PBK|PCNT|BRX|JMP|JMX)$/.test(instr.base)) {
      const t = /(?:^|[\s,])0x([0-9a-f]+)\s*$/.exec(operands);
      if (t) instr.target = parseInt(t[1], 16);
    }
    current.instrs.push(instr);
  }
  return out;
}

/**
 * Every `.entry`/`.func` of a PTX module. Labels map to the index of the next instruction; directives,
 * declarations and braces are not instructions.
 */
export function parsePtx(text: string): AsmFunction[] {
  const out: AsmFunction[] = [];
  let current: { fn: AsmFunction; labels: Map<string, number>; pending: Array<{ instr: Instr; label: string }> } | undefined;
  let depth = 0;
  const finish = (): void => {
    if (!current) return;
    for (const { instr, label } of current.pending) instr.target = current.labels.get(label);
    current = undefined;
  };
  // Strip comments; one statement per ';' (PTX allows several per line).
  const clean = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const rawLine of clean.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (!line) continue;
    const head = /^(?:\.visible\s+|\.weak\s+|\.extern\s+)*\.(entry|func)\s+(?:\([^)]*\)\s*)?([\w$]+)/.exec(line);
    if (head && depth === 0) {
      finish();
      current = { fn: { name: head[2], instrs: [], level: 'ptx' }, labels: new Map(), pending: [] };
      out.push(current.fn);
    }
    let closed = false;
    for (const ch of line) {
      if (ch === '{') depth += 1;
      else if (ch === '}') {
        depth -= 1;
        closed ||= depth === 0;
      }
    }
    if (!current || head) continue;
    const label = /^([$\w]+):/.exec(line);
    if (label) {
      current.labels.set(label[1], current.fn.instrs.length);
      continue;
    }
    for (const stmt of line.split(';')) {
      const s = stmt.replace(/[{}]/g, '').trim();
      if (!s || s.startsWith('.')) continue; // .reg, .shared, .pragma, …
      const m = /^(?:@(!?[%\w]+)\s+)?([a-z][\w.:]*)\s*(.*)$/.exec(s);
      if (!m) continue;
      const instr: Instr = { addr: current.fn.instrs.length, opcode: m[2], base: m[2].split('.')[0], operands: m[3].trim() };
      if (m[1]) instr.pred = m[1];
      if (instr.base === 'bra') {
        const t = /([$\w]+)\s*$/.exec(instr.operands);
        if (t) current.pending.push({ instr, label: t[1] });
      }
      current.fn.instrs.push(instr);
    }
    if (closed) finish(); // the function body's closing brace
  }
  finish();
  return out;
}
