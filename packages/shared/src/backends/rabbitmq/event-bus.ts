import type { Redis } from 'ioredis';
import type { TaskEvent, TaskLogLine, TaskRef } from '../../backend.js';
import type { TaskStatus } from '../../task.js';
import type { TaskKeys } from './task-keys.js';

export type ControlMessage = { kind: 'cancel'; id: string } | { kind: 'pause' | 'resume' | 'lanes'; queue: string };

/**
 * The Redis pub/sub side of one backend instance: task events (published by the store's
 * scripts, atomically with each state change) and control messages (cancel a running task,
 * pause/resume a queue, a queue has new tenant lanes). One subscriber connection, opened on first use; the events channel is
 * only subscribed while someone listens, so a busy worker does not receive every event.
 */
export class EventBus {
  private sub: Redis | undefined;
  private readonly eventListeners = new Set<(e: TaskEvent) => void>();
  private readonly controlListeners = new Set<(m: ControlMessage) => void>();
  private controlSubscribed: Promise<unknown> | undefined;

  constructor(
    private readonly makeConnection: () => Redis,
    private readonly keys: TaskKeys,
  ) {}

  async onEvent(listener: (e: TaskEvent) => void): Promise<() => void> {
    const sub = this.connection();
    this.eventListeners.add(listener);
    if (this.eventListeners.size === 1) await sub.subscribe(this.keys.events);
    return () => {
      if (!this.eventListeners.delete(listener)) return;
      if (this.eventListeners.size === 0) sub.unsubscribe(this.keys.events).catch(() => undefined);
    };
  }

  async onControl(listener: (m: ControlMessage) => void): Promise<() => void> {
    const sub = this.connection();
    this.controlListeners.add(listener);
    this.controlSubscribed ??= sub.subscribe(this.keys.control);
    await this.controlSubscribed;
    return () => {
      this.controlListeners.delete(listener);
    };
  }

  /** Publishes a task's log line on the events channel, in the format the scripts use. */
  async publishLog(redis: Redis, task: TaskRef, line: TaskLogLine): Promise<void> {
    await redis.publish(this.keys.events, `l|${task.id}|${task.queue}|${Date.now()}|${line.level}|${line.msg}`);
  }

  async close(): Promise<void> {
    this.eventListeners.clear();
    this.controlListeners.clear();
    const sub = this.sub;
    this.sub = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  private connection(): Redis {
    if (this.sub) return this.sub;
    const sub = this.makeConnection();
    sub.on('error', () => undefined); // ioredis reconnects and re-subscribes by itself
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.events) {
        const event = parseEvent(message);
        if (event) for (const l of this.eventListeners) l(event);
      } else if (channel === this.keys.control) {
        const m = parseControl(message);
        if (m) for (const l of this.controlListeners) l(m);
      }
    });
    this.sub = sub;
    return sub;
  }
}

function parseEvent(message: string): TaskEvent | null {
  const parts = message.split('|');
  const [kind, id, queue, fourth, fifth] = parts;
  if (!id || !queue) return null;
  if (kind === 's') return { kind: 'state', id, queue, status: fourth as TaskStatus, at: Number(fifth) };
  if (kind === 'p') {
    // The progress JSON may itself contain '|': it is everything after the fourth separator.
    const json = parts.slice(4).join('|');
    return { kind: 'progress', id, queue, progress: JSON.parse(json) as unknown, at: Number(fourth) };
  }
  if (kind === 'l') {
    // The message may itself contain '|': it is everything after the fifth separator.
    return { kind: 'log', id, queue, log: { level: fifth as TaskLogLine['level'], msg: parts.slice(5).join('|') }, at: Number(fourth) };
  }
  return null;
}

function parseControl(message: string): ControlMessage | null {
  const bar = message.indexOf('|');
  const kind = message.slice(0, bar);
  const arg = message.slice(bar + 1);
  if (kind === 'cancel') return { kind, id: arg };
  if (kind === 'pause' || kind === 'resume' || kind === 'lanes') return { kind, queue: arg };
  return null;
}
