/**
 * ISO-8601 text for epoch milliseconds. Hot paths convert runs of nearby values (a batch of tasks
 * shares its creation millisecond; tasks started close together share their minute), and
 * Date#toISOString costs more than the rest of building a record (V8 formats it with snprintf).
 * So the memo keeps the last answer, and the text of the last minute ("2026-12-02T16:47:"), to
 * which a different millisecond of the same minute only appends seconds and milliseconds. Give
 * each stream of values its own memo: one memo fed creation and start times in turn would miss
 * more often.
 */
export class IsoTimeMemo {
  private lastMs = Number.NaN;
  private lastIso = '';
  private minuteStart = Number.NaN;
  private minuteText = '';

  iso(ms: number): string {
    if (ms === this.lastMs) return this.lastIso;
    const intoMinute = ms - this.minuteStart;
    let text: string;
    if (intoMinute >= 0 && intoMinute < 60_000 && Number.isInteger(intoMinute)) {
      text = this.minuteText + SECONDS[(intoMinute / 1000) | 0] + MILLIS[intoMinute % 1000];
    } else {
      text = new Date(ms).toISOString();
      // Only four-digit years have the fixed layout sliced here; others always take the slow path.
      if (text.length === 24 && Number.isInteger(ms)) {
        this.minuteStart = ms - (ms % 60_000 + 60_000) % 60_000;
        this.minuteText = text.slice(0, 17);
      }
    }
    this.lastMs = ms;
    this.lastIso = text;
    return text;
  }
}

const SECONDS = Array.from({ length: 60 }, (_, s) => String(s).padStart(2, '0'));
const MILLIS = Array.from({ length: 1000 }, (_, m) => `.${String(m).padStart(3, '0')}Z`);

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
