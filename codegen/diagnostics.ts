// Cuts a compiler log (nvcc's EDG front end, the host g++, ptxas, the linker) down to the lines a person
// needs: each error or warning with its file:line and up to two lines of context, errors first,
// duplicates (the same message once per target) dropped, at most ~20 lines in all.

export interface DiagnosticOptions {
  /** 'error' (default): errors first, then warnings if room is left; 'warning': warnings only. */
  severity?: 'error' | 'warning';
  /** Build directory prefix stripped from paths so messages show the source names. */
  tmpDir?: string;
  maxLines?: number;
}

interface Diagnostic {
  severity: 'error' | 'warning';
  lines: string[];
}

// `located`: the message names file:line, so the source line and caret that follow are worth keeping.
const HEADERS: Array<{ re: RegExp; located?: true; severity: (m: RegExpExecArray) => 'error' | 'warning' }> = [
  // EDG (nvcc front end): file.cu(12): error: … / warning #177-D: …
  { re: /^(.+)\((\d+)\): (error|warning|catastrophic error)\b/, located: true, severity: (m) => (m[3] === 'warning' ? 'warning' : 'error') },
  // gcc/g++: file.cpp:12:5: error: … / fatal error: …
  { re: /^(.+):(\d+):(\d+): (error|warning|fatal error):/, located: true, severity: (m) => (m[4] === 'warning' ? 'warning' : 'error') },
  { re: /^ptxas (error|fatal|warning)\s*:/, severity: (m) => (m[1] === 'warning' ? 'warning' : 'error') },
  { re: /^nvcc (error|fatal|warning)\s*:/, severity: (m) => (m[1] === 'warning' ? 'warning' : 'error') },
  { re: /undefined reference to|multiple definition of|cannot find -l/, severity: () => 'error' },
  { re: /^(\/\S*\/)?ld(\.\w+)?: (error|cannot)/, severity: () => 'error' },
  { re: /^collect2: error:/, severity: () => 'error' },
];

function header(line: string): { severity: 'error' | 'warning'; located: boolean } | undefined {
  for (const h of HEADERS) {
    const m = h.re.exec(line);
    if (m) return { severity: h.severity(m), located: h.located === true };
  }
  return undefined;
}
const headerSeverity = (line: string): 'error' | 'warning' | undefined => header(line)?.severity;

function parse(log: string): Diagnostic[] {
  const lines = log.split(/\r?\n/);
  const out: Diagnostic[] = [];
  for (let i = 0; i < lines.length; i++) {
    const h = header(lines[i]);
    if (!h) continue;
    const block = [lines[i]];
    if (!h.located) {
      out.push({ severity: h.severity, lines: block });
      continue;
    }
    const severity = h.severity;
    let j = i + 1;
    // Up to two context lines (source line and caret), then an instantiation trace if there is one.
    while (j < lines.length && block.length < 3 && lines[j].trim() !== '' && !headerSeverity(lines[j])) {
      block.push(lines[j]);
      j++;
    }
    while (j < lines.length && lines[j].trim() !== '' && !headerSeverity(lines[j])) {
      if (/^\s*detected during/.test(lines[j])) {
        block.push(lines[j], ...(lines[j + 1] && !headerSeverity(lines[j + 1]) ? [lines[j + 1]] : []));
        break;
      }
      j++;
    }
    out.push({ severity, lines: block });
  }
  return out;
}

/** The diagnostics that matter, or '' when the log holds none of the requested severity. */
export function extractDiagnostics(log: string, options: DiagnosticOptions = {}): string {
  const maxLines = options.maxLines ?? 20;
  const strip = (s: string): string => (options.tmpDir ? s.split(`${options.tmpDir}/`).join('') : s);
  const seen = new Set<string>();
  const unique = parse(log).filter((d) => {
    const k = strip(d.lines[0]).replace(/ for 'sm_\w+'/, '');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const ordered =
    options.severity === 'warning'
      ? unique.filter((d) => d.severity === 'warning')
      : [...unique.filter((d) => d.severity === 'error'), ...unique.filter((d) => d.severity === 'warning')];
  const picked: string[] = [];
  let shown = 0;
  for (const d of ordered) {
    if (picked.length + d.lines.length > maxLines) break;
    picked.push(...d.lines.map(strip));
    shown++;
  }
  if (shown < ordered.length) picked.push(`… ${ordered.length - shown} more diagnostic(s) in the full log`);
  return picked.join('\n');
}
