// Errors that are the user's to fix. The CLI prints their message (never a stack trace) and exits 2.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A rejected spec field: names the field path, the value and what is allowed; optionally file:line. */
export class SpecError extends UserError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly allowed: string,
    readonly location?: { file: string; line: number; column: number },
  ) {
    const where = location ? `${location.file}:${location.line}:${location.column}: ` : '';
    super(`${where}${field}: ${formatValue(value)} ${allowed}`);
    this.name = 'SpecError';
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
