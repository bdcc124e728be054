/** One dispatched Server-Sent Events message. */
export interface SseMessage {
  /** The `id:` of this message, if it had one (an empty `id:` resets it to ''). */
  id: string | undefined;
  /** `event:`, default "message". */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
}

/**
 * An incremental parser for text/event-stream (the WHATWG HTML "event stream interpretation"):
 * lines end in CRLF, LF or CR, even split across chunks; `:` lines are comments; `field: value`
 * with one optional space; a blank line dispatches. Messages without data are not dispatched.
 * Feed it decoded text with push(); it returns the messages each chunk completed.
 */
export class SseParser {
  private buffer = '';
  /** The previous chunk ended in CR: a LF that starts the next chunk belongs to it. */
  private pendingCr = false;
  private started = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  /** The last `retry:` field: the server's reconnection time in ms (it applies at once, data or not). */
  reconnectMs: number | undefined;

  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line.length === 0) return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.id = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.reconnectMs = Number(value);
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const message: SseMessage | undefined = data.length === 0 ? undefined : { id: this.id, event: this.event || 'message', data: data.join('\n') };
    this.data = [];
    this.event = '';
    this.id = undefined;
    return message;
  }
}
