/**
 * How deeply a JSON text nests, counted on the text itself before it is parsed, so a document
 * too deep to be serialised again (JSON.stringify and structuredClone overflow the stack at a
 * few thousand levels) is refused at the door rather than deep inside a backend. Returns the
 * depth, or stops early and returns `limit + 1` once the text is deeper than `limit`. Brackets
 * inside strings do not count; the text need not be valid JSON (the parser judges that after).
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
