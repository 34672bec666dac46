// A strict-enough well-formedness check for the JUnit writer (no XML parser is a dependency): one
// prolog, balanced and properly nested tags, quoted attributes, only the five predefined entities,
// no control characters.
import { expect } from 'vitest';

export function expectWellFormedXml(xml: string): void {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  expect(/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(xml)).toBe(false);
  const body = xml.slice(xml.indexOf('?>') + 2);
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"<]*")*)\s*(\/?)>|&(?!(?:amp|lt|gt|quot|apos);)|<|>/g;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = tag.exec(body))) {
    if (!m[2]) throw new Error(`stray '${m[0]}' at ${m.index}: ${body.slice(Math.max(0, m.index - 40), m.index + 40)}`);
    if (m[1]) {
      expect(stack.pop()).toBe(m[2]);
    } else if (!m[4]) {
      if (stack.length === 0) roots++;
      stack.push(m[2]);
    } else if (stack.length === 0) roots++;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
}
