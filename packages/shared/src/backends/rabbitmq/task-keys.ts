import { createHash } from 'node:crypto';

/** Names of the Redis keys and pub/sub channels of one rabbitmq-backend store (one prefix). */
export class TaskKeys {
  readonly base: string;
  readonly recordPrefix: string;
  readonly seq: string;
  readonly index: string;
  readonly paused: string;
  readonly workers: string;
  readonly workerInfo: string;
  readonly types: string;
  readonly events: string;
  readonly control: string;

  constructor(prefix: string) {
    this.base = `${prefix}:rmq:`;
    this.recordPrefix = `${this.base}t:`;
    this.seq = `${this.base}seq`;
    this.index = `${this.base}index`;
    this.paused = `${this.base}paused`;
    this.workers = `${this.base}workers`;
    this.workerInfo = `${this.base}worker-info`;
    this.types = `${this.base}types`;
    this.events = `${this.base}events`;
    this.control = `${this.base}control`;
  }

  record(id: string): string {
    return this.recordPrefix + id;
  }

  /** The key's text is user input: hashed, so any string makes a safe key name. */
  idempotency(tenant: string, queue: string, key: string): string {
    return `${this.base}idem:${createHash('sha256').update(`${tenant}\0${queue}\0${key}`).digest('base64url')}`;
  }

  /** Delayed and backoff schedule: score = due time (ms). */
  delayed(queue: string): string {
    return `${this.base}q:${queue}:delayed`;
  }

  /** Parents suspended on their children: score = when the backstop wakes them (ms). */
  waiting(queue: string): string {
    return `${this.base}q:${queue}:waiting`;
  }

  /** Tasks whose broker message is not confirmed yet: score = when the relay may (re)publish. */
  outbox(queue: string): string {
    return `${this.base}q:${queue}:outbox`;
  }

  /** Tenants that have a lane (a broker queue of their own) in this queue: see topology.ts. */
  lanes(queue: string): string {
    return `${this.base}q:${queue}:lanes`;
  }

  /** Running attempts: score = lease expiry (ms). */
  running(queue: string): string {
    return `${this.base}q:${queue}:running`;
  }

  /** Finished tasks still retained: score = finish time (ms). */
  finished(queue: string, outcome: 'succeeded' | 'failed' | 'canceled'): string {
    return `${this.base}q:${queue}:${outcome}`;
  }
}
