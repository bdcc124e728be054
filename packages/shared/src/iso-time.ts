/**
 * ISO-8601 text for epoch milliseconds, remembering the last answer. Hot paths convert runs of
 * equal values (a batch of tasks shares its creation millisecond; tasks started in the same
 * millisecond share their start), and Date#toISOString costs more than the rest of building a
 * record. Give each stream of values its own memo: one memo fed creation and start times in turn
 * would miss every time.
 */
export class IsoTimeMemo {
  private lastMs = Number.NaN;
  private lastIso = '';

  iso(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastIso = new Date(ms).toISOString();
      this.lastMs = ms;
    }
    return this.lastIso;
  }
}

const shared = new IsoTimeMemo();

/** For one-off conversions and call sites that convert one stream of values. */
export function isoTime(ms: number): string {
  return shared.iso(ms);
}

let lastText = '';
let lastParsed = Number.NaN;

/** Date.parse with a one-entry memory (only the worker's wait metric calls it on the hot path). */
export function epochMs(iso: string): number {
  if (iso !== lastText) {
    lastParsed = Date.parse(iso);
    lastText = iso;
  }
  return lastParsed;
}
