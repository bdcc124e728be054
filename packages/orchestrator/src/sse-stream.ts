import type { FastifyReply } from 'fastify';

/**
 * One Server-Sent Events answer: headers written once, then `id:`/`event:`/`data:` frames, and a
 * comment every `keepAliveMs` so proxies do not cut an idle stream. The reply is hijacked (the
 * stream outlives the handler); closed() resolves when the client leaves or end() is called.
 */
export class SseStream {
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  readonly closed: Promise<void>;

  constructor(
    private readonly reply: FastifyReply,
    keepAliveMs: number,
  ) {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    raw.write(': stream open\n\n');
    this.timer = setInterval(() => this.comment('keep-alive'), keepAliveMs);
    this.closed = new Promise((resolve) => raw.once('close', () => resolve()));
    void this.closed.then(() => this.end());
  }

  get open(): boolean {
    return !this.ended;
  }

  send(event: string, data: unknown, id?: string): void {
    if (this.ended) return;
    this.reply.raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    if (!this.ended) this.reply.raw.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.reply.raw.end();
  }
}
