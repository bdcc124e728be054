/**
 * ISO-8601 text for epoch milliseconds and back, remembering the last answer. Hot paths convert
 * runs of equal values (a batch of tasks shares its creation millisecond; tasks started in the
 * same millisecond share their start), and Date#toISOString costs more than the rest of building
 * a record.
 */
let lastMs = Number.NaN;
let lastIso = '';

export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

let lastText = '';
let lastParsed = Number.NaN;

/** Date.parse with the same one-entry memory. */
export function epochMs(iso: string): number {
  if (iso !== lastText) {
    lastParsed = Date.parse(iso);
    lastText = iso;
  }
  return lastParsed;
}
