// Errors that are the user's to fix. The CLI prints their message (never a stack trace) and exits 2.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A rejected spec field: names the field path, the value and what is allowed; optionally file:line. */
export class SpecError extends UserError {
  /** The field path, with empty keys spelled [""] so no message starts with ': '. */
  readonly field: string;
  constructor(
    field: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly location?: { file: string; line: number; column: number },
  ) {
    const where = location ? `${location.file}:${location.line}:${location.column}: ` : '';
    super(`${where}${spellField(field)}: ${formatValue(value)} ${allowed}`);
    this.field = spellField(field);
    this.name = 'SpecError';
  }
}

const PLAIN_SEGMENT = /^[A-Za-z0-9_$-]+(\[\d+\])*$/;
const SPELLED_SEGMENT = /^(\[(?:"(?:[^"\\]|\\.)*"|\d+)\])+$/;
/**
 * A field path with odd keys made visible: '' → [""], 'format.' → format[""], a key ': ' → [": "],
 * so every message starts with a readable field name (never ": 1 is …"). Idempotent.
 */
export function spellField(field: string): string {
  return field
    .split('.')
    .map((seg, i) => {
      if (SPELLED_SEGMENT.test(seg)) return seg;
      if (PLAIN_SEGMENT.test(seg)) return i === 0 ? seg : `.${seg}`;
      return `[${JSON.stringify(seg)}]`;
    })
    .join('');
}

/**
 * A value as the user wrote it, for messages. Never throws: BigInt (`5n`), Symbols, functions,
 * null-prototype objects and cycles all get a spelling (JSON.stringify and String() throw on some).
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  const seen = new Set<object>();
  const replacer = (_key: string, v: unknown): unknown => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'symbol') return v.toString();
    if (typeof v === 'function') return `[function ${v.name || 'anonymous'}]`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[circular]';
      seen.add(v);
    }
    return v;
  };
  try {
    if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' || typeof value === 'number') {
      return String(replacer('', value));
    }
    return JSON.stringify(value, replacer) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
