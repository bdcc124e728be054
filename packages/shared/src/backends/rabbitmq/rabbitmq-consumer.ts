import type { Channel, ConsumeMessage } from 'amqplib';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { Attempt, type AttemptOutcome } from '../../attempt.js';
import { decideAfterAttempt } from '../../task-rules.js';
import { SlotTable } from '../../slot-table.js';
import type { ConsumeOptions, Consumer } from '../../backend.js';
import type { TaskRecord } from '../../task.js';
import type { ControlMessage, EventBus } from './event-bus.js';
import { AckBatch } from './ack-batch.js';
import type { Broker } from './broker.js';
import { MicroBatch } from './micro-batch.js';
import { decodeTaskMessage } from './task-message.js';
import type { FinishedAttempt, RunningTask, TaskStore } from './task-store.js';
import type { Topology } from './topology.js';

export interface RabbitmqConsumerDeps {
  broker: Broker;
  store: TaskStore;
  bus: EventBus;
  topology: Topology;
  queue: string;
  options: ConsumeOptions;
  /** Unique per backend instance; run tokens start with it. */
  instanceId: string;
  /** A running attempt's lease; renewed every third of it while the attempt runs. */
  leaseMs: number;
  onClosed: (c: RabbitmqConsumer) => void;
}

interface Running {
  task: TaskRecord;
  token: string;
  attempt: Attempt;
}

/**
 * One consumer = one channel with prefetch = concurrency and manual acks. A delivery is claimed
 * in Redis (the start script drops stale or finished ones), run as an Attempt (the runner every backend shares), its outcome
 * recorded in Redis, and only then acknowledged. After a reconnect the channel's setup runs
 * again and consumes anew; acks of deliveries from the dead channel are dropped (the broker has
 * already requeued those messages, and the start script recognises them).
 */
export class RabbitmqConsumer implements Consumer {
  private wrapper: ChannelWrapper | undefined;
  private channel: Channel | undefined;
  private acks: AckBatch | undefined;
  private tag: string | undefined;
  private paused = false;
  private closing = false;
  private closed: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Slot tables, not a Map and a Set: see slot-table.ts for what those cost per task. */
  private readonly active = new SlotTable<Running>();
  private readonly inflight = new SlotTable<Promise<void>>();
  /** Past the grace period of close(): running attempts are interrupted (and requeued). */
  private interrupting = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private pauseTimer: NodeJS.Timeout | undefined;
  private offControl: (() => void) | undefined;
  private runs = 0;
  private readonly starts: MicroBatch<{ id: string; gen: number; token: string }, RunningTask | null>;
  private readonly finishes: MicroBatch<FinishedAttempt, boolean>;

  constructor(private readonly deps: RabbitmqConsumerDeps) {
    const { store, queue, leaseMs } = deps;
    // Deliveries that arrive together are claimed together, outcomes recorded together.
    this.starts = new MicroBatch((ds) => {
      const now = Date.now();
      return store.start(queue, ds, now + leaseMs, now);
    }, 500, 'microtask');
    this.finishes = new MicroBatch((outcomes) => store.finish(queue, outcomes), 500, "microtask");
  }

  async start(): Promise<void> {
    const { store, queue, broker, options, leaseMs } = this.deps;
    this.offControl = await this.deps.bus.onControl((m) => this.onControl(m));
    this.paused = await store.isPaused(queue);
    this.wrapper = broker.connection.createChannel({
      name: `drover-consumer-${queue}`,
      confirm: false,
      setup: async (ch: Channel) => {
        this.channel = ch;
        this.acks = new AckBatch(ch);
        broker.watch(ch, () => this.closing);
        this.tag = undefined;
        // Idempotent, and it makes a consumer that starts before any publisher safe.
        await ch.assertQueue(this.deps.topology.queueName(queue), this.deps.topology.queueOptions());
        await ch.prefetch(options.concurrency);
        await this.reconcile();
      },
    });
    this.wrapper.on('error', () => undefined);
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(leaseMs / 3)));
    // Backstop for a pause/resume message missed while the subscriber reconnected.
    this.pauseTimer = setInterval(() => {
      store.isPaused(queue).then(
        (p) => {
          if (p !== this.paused) {
            this.paused = p;
            void this.reconcile();
          }
        },
        () => undefined,
      );
    }, 2000);
    await this.wrapper.waitForConnect();
  }

  running(): number {
    return this.active.size;
  }

  close(graceMs = 0): Promise<void> {
    this.closed ??= this.shut(graceMs);
    return this.closed;
  }

  private async shut(graceMs: number): Promise<void> {
    this.closing = true;
    this.offControl?.();
    await this.reconcile();
    const deadline = Date.now() + graceMs;
    while (this.inflight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.all(this.inflight.values()), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
    }
    if (this.inflight.size > 0) {
      this.interrupting = true;
      for (const r of this.active.values()) r.attempt.interrupt();
      while (this.inflight.size > 0) await Promise.all(this.inflight.values());
    }
    clearInterval(this.renewTimer);
    clearInterval(this.pauseTimer);
    await this.wrapper?.close().catch(() => undefined);
    this.deps.onClosed(this);
  }

  /** Consumes when neither paused nor closing, cancels the consumer otherwise; one change at a time. */
  private reconcile(): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        const ch = this.channel;
        if (!ch) return;
        const want = !this.paused && !this.closing;
        if (want && !this.tag) {
          const name = this.deps.topology.queueName(this.deps.queue);
          const acks = this.acks!;
          const { consumerTag } = await ch.consume(
            name,
            (msg) => {
              // null: the broker cancelled this consumer (queue deleted); start over on a new connection
              if (!msg) return ch.close().catch(() => undefined);
              acks.delivered(msg);
              this.track(this.onMessage(acks, msg));
            },
            { noAck: false },
          );
          if (this.channel === ch) this.tag = consumerTag;
        } else if (!want && this.tag) {
          const tag = this.tag;
          this.tag = undefined;
          await ch.cancel(tag);
        }
      })
      .catch(() => undefined);
    return this.chain;
  }

  private onControl(m: ControlMessage): void {
    if (m.kind === 'cancel') this.cancelRunning(m.id);
    else if (m.queue === this.deps.queue) {
      this.paused = m.kind === 'pause';
      void this.reconcile();
    }
  }

  private track(p: Promise<void>): void {
    const slot = this.inflight.add(p);
    void p.finally(() => this.inflight.remove(slot));
  }

  private cancelRunning(id: string): void {
    for (const r of this.active.values()) if (r.task.id === id) r.attempt.cancel();
  }

  private async onMessage(acks: AckBatch, msg: ConsumeMessage): Promise<void> {
    const { store, options } = this.deps;
    const parsed = decodeTaskMessage(msg.content);
    if (!parsed) return acks.ack(msg);
    const token = `${this.deps.instanceId}.${++this.runs}`;
    let claimed: RunningTask | null;
    try {
      claimed = await this.starts.add({ id: parsed.id, gen: parsed.gen, token });
    } catch {
      // Redis unreachable: hand the message back a little later.
      await new Promise((r) => setTimeout(r, 1000));
      return acks.nack(msg, true);
    }
    if (!claimed) return acks.ack(msg);
    const task = claimed.record;
    const attempt = new Attempt(task, options.handler, (v) => store.progress(task, token, v));
    const slot = this.active.add({ task, token, attempt });
    if (this.interrupting) attempt.interrupt();
    try {
      const outcome = await attempt.outcome;
      await this.settle(acks, msg, task, token, claimed, outcome);
    } finally {
      this.active.remove(slot);
    }
  }

  /** Records the outcome in Redis first, then acknowledges: a crash in between only causes a redelivery that the start script drops. */
  private async settle(acks: AckBatch, msg: ConsumeMessage, task: TaskRecord, token: string, claimed: RunningTask, outcome: AttemptOutcome): Promise<void> {
    const { store } = this.deps;
    let ok: boolean;
    let requeue = false;
    let dead = false;
    const decision = decideAfterAttempt(outcome, claimed.counted, task.maxAttempts, claimed.backoffMs);
    switch (decision.kind) {
      case 'succeed':
        ok = await this.recordOutcome({ id: task.id, token, status: 'succeeded', output: outcome.kind === 'succeeded' ? outcome.output : null, error: null });
        break;
      case 'cancel':
        ok = await this.recordOutcome({ id: task.id, token, status: 'canceled', output: null, error: decision.error });
        break;
      case 'requeue':
        ok = await persist(() => store.requeue(task, token));
        requeue = true;
        break;
      case 'retry':
        ok = await persist(() => store.retry(task, token, decision.error, decision.delayMs));
        break;
      case 'suspend':
        // Its message is done with; when woken the relay publishes a new one (next generation).
        // What it waits on goes in first, so each child that ends from now on crosses itself off and
        // the one that completes the wait wakes it; children that ended before are crossed off here.
        if (outcome.kind === 'suspended' && outcome.wait.ids.length > 0) await store.waits.set(task.id, outcome.wait).catch(() => undefined);
        ok = await persist(() => store.suspend(task, token, decision.wakeAfterMs));
        if (ok && outcome.kind === 'suspended' && outcome.wait.ids.length > 0) {
          const wait = outcome.wait;
          const over = await store.waits.settle(task.id, wait, (ids) => Promise.all(ids.map((id) => store.get(id)))).catch(() => false);
          if (over) await store.wake(task.id).catch(() => undefined);
        }
        break;
      case 'fail':
        ok = await this.recordOutcome({ id: task.id, token, status: 'failed', output: null, error: decision.error });
        dead = true;
        break;
    }
    // A child's end (not a retry of it) may end its parent's wait (a wake lost here is caught by the backstop).
    if (ok && task.parentId && (decision.kind === 'succeed' || decision.kind === 'cancel' || decision.kind === 'fail')) void store.childEnded(task.parentId, task.id).catch(() => undefined);
    // When Redis stayed unreachable the message goes back; its lease decides who runs it next.
    if (!ok || requeue) return acks.nack(msg, true);
    if (dead) return acks.nack(msg, false); // dead-lettered for inspection
    return acks.ack(msg);
  }

  /** A finished attempt, recorded with the others of this turn (the common case: no closure per task). */
  private async recordOutcome(outcome: FinishedAttempt): Promise<boolean> {
    try {
      await this.finishes.add(outcome);
      return true;
    } catch {
      return persist(() => this.finishes.add(outcome));
    }
  }

  private async renew(): Promise<void> {
    if (this.active.size === 0) return;
    try {
      const ids = this.active.values().map((r) => r.task.id);
      const canceled = await this.deps.store.renew(this.deps.queue, ids, Date.now() + this.deps.leaseMs);
      for (const id of canceled) this.cancelRunning(id);
    } catch {
      // Redis down: leases run on; the next renewal may still make it.
    }
  }
}

/** Retries a Redis write with backoff (about a minute in all); false when Redis stayed unreachable. */
async function persist(write: () => Promise<unknown>): Promise<boolean> {
  for (let i = 0; ; i++) {
    try {
      await write();
      return true;
    } catch {
      if (i >= 20) return false;
      await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** i)));
    }
  }
}
