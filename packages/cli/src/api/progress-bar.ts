/** What a task's progress event holds: a number 0-100, or an object that may carry `percent`. */
export function percentOf(progress: unknown): number | undefined {
  const n = typeof progress === 'number' ? progress : typeof progress === 'object' && progress !== null ? (progress as { percent?: unknown }).percent : undefined;
  return typeof n === 'number' && Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : undefined;
}

/**
 * The progress of one task on a terminal: a bar redrawn in place on a TTY, one line per change
 * otherwise (a log file or a pipe gets no control characters).
 */
export class ProgressBar {
  private last = '';
  private drawn = false;

  constructor(
    private readonly out: { write(s: string): unknown; isTTY?: boolean },
    private readonly label: string,
    private readonly width = 30,
  ) {}

  update(status: string, progress: unknown): void {
    const pct = percentOf(progress);
    const detail = pct === undefined ? (progress === null || progress === undefined ? '' : ` ${JSON.stringify(progress)}`) : '';
    const bar = pct === undefined ? '' : ` [${'#'.repeat(Math.round((pct / 100) * this.width)).padEnd(this.width, '.')}] ${pct.toFixed(0).padStart(3)}%`;
    const text = `${this.label} ${status}${bar}${detail}`;
    if (text === this.last) return;
    this.last = text;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the redrawn line so what follows starts on a line of its own. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
