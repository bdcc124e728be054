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
 * One consumer = one channel with prefetch = concurrency and manual acks, subscribed to every
 * tenant lane of its queue (and to the bare queue while messages from before lanes wait there).
 * A delivery is claimed in Redis (the start script drops stale or finished ones), run as an
 * Attempt (the runner every backend shares), its outcome recorded in Redis, and only then
 * acknowledged. After a reconnect the channel's setup runs again and consumes anew; acks of
 * deliveries from the dead channel are dropped (the broker has already requeued those messages,
 * and the start script recognises them).
 *
 * Fair dispatch between tenants happens here, not in the broker: each lane's consumer may hold
 * `concurrency` messages (a per-consumer prefetch), at most `concurrency` of all run at once, and a
 * freed slot goes to the next lane in turn that has a message waiting. A shared channel limit
 * left the choice to RabbitMQ, whose limiter tends to hand a freed slot back to the queue that
 * just had it: a quiet tenant could wait behind the whole of a noisy one's backlog. A smaller
 * per-lane share would leave slots idle once the other lanes are empty. The cost: a worker holds
 * up to lanes x concurrency deliveries (not yet claimed, so still `queued`, and back in the broker
 * if it dies). Priority orders tasks within a lane, not across lanes. With one lane every
 * delivery starts at once, as before.
 */
export class RabbitmqConsumer implements Consumer {
  private wrapper: ChannelWrapper | undefined;
  private channel: Channel | undefined;
  private acks: AckBatch | undefined;
  /** Broker queue -> consumer tag on the current channel. */
  private tags = new Map<string, string>();
  /** Tenants with a lane in this queue, as last read from Redis. */
  private lanes: readonly string[] = [];
  /** The bare queue holds messages (from before lanes): consume it too, from then on. */
  private bare = false;
  /** Deliveries waiting for a slot, by broker queue (only with two lanes or more). */
  private waiting = new Map<string, ConsumeMessage[]>();
  private waitingCount = 0;
  /** Deliveries started and not yet settled. */
  private started = 0;
  /** Where the next turn begins in the lane order. */
  private turn = 0;
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
    [this.paused, this.lanes] = await Promise.all([store.isPaused(queue), store.lanes(queue)]);
    this.wrapper = broker.connection.createChannel({
      name: `drover-consumer-${queue}`,
      confirm: false,
      setup: async (ch: Channel) => {
        this.channel = ch;
        this.acks = new AckBatch(ch);
        broker.watch(ch, () => this.closing);
        this.tags = new Map();
        // Deliveries of a dead channel were requeued by the broker: forget them.
        this.waiting = new Map();
        this.waitingCount = 0;
        // Idempotent, and it makes a consumer that starts before any publisher safe.
        const { messageCount } = await ch.assertQueue(this.deps.topology.queueName(queue), this.deps.topology.queueOptions());
        if (messageCount > 0) this.bare = true;
        // Per consumer (global=false): every lane's consumer may hold `concurrency` deliveries. No
        // channel-wide limit beside it (prefetch(0, false) after one lifts both on RabbitMQ 3.10);
        // dispatch() caps the running tasks.
        await ch.prefetch(options.concurrency, false);
        await this.reconcile();
      },
    });
    this.wrapper.on('error', () => undefined);
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(leaseMs / 3)));
    // Backstop for a pause/resume or lanes message missed while the subscriber reconnected, and
    // the check for messages in the bare queue.
    this.pauseTimer = setInterval(() => void this.backstop(), 2000);
    await this.wrapper.waitForConnect();
  }

  private async backstop(): Promise<void> {
    const { store, queue, topology } = this.deps;
    try {
      const [paused, lanes] = await Promise.all([store.isPaused(queue), store.lanes(queue)]);
      let changed = paused !== this.paused || lanes.length !== this.lanes.length;
      this.paused = paused;
      this.lanes = lanes;
      const ch = this.channel;
      if (!this.bare && ch) {
        const { messageCount } = await ch.assertQueue(topology.queueName(queue), topology.queueOptions());
        if (messageCount > 0) {
          this.bare = true;
          changed = true;
        }
      }
      if (changed) await this.reconcile();
    } catch {
      // Redis or the channel is down: the next round tries again.
    }
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
    // Deliveries that never started go back to the broker for another worker.
    for (const queue of this.waiting.values()) for (const msg of queue) this.acks?.nack(msg, true);
    this.waiting.clear();
    this.waitingCount = 0;
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

  /** Consumes every lane when neither paused nor closing, cancels every consumer otherwise; one change at a time. */
  private reconcile(): Promise<void> {
    this.chain = this.chain
      .then(async () => {
        const ch = this.channel;
        if (!ch) return;
        const tags = this.tags;
        if (!this.paused && !this.closing) {
          const { topology, queue } = this.deps;
          const acks = this.acks!;
          const tenants = this.bare ? ['', ...this.lanes] : this.lanes;
          for (const tenant of tenants) {
            const name = topology.queueName(queue, tenant);
            if (tags.has(name)) continue;
            if (tenant !== '') await ch.assertQueue(name, topology.queueOptions());
            const { consumerTag } = await ch.consume(
              name,
              (msg) => {
                // null: the broker cancelled this consumer (queue deleted); start over on a new connection
                if (!msg) return ch.close().catch(() => undefined);
                acks.delivered(msg);
                this.dispatch(acks, name, msg);
              },
              { noAck: false },
            );
            tags.set(name, consumerTag);
          }
        } else {
          for (const [name, tag] of tags) {
            tags.delete(name);
            await ch.cancel(tag);
          }
        }
      })
      .catch(() => undefined);
    return this.chain;
  }

  private onControl(m: ControlMessage): void {
    if (m.kind === 'cancel') this.cancelRunning(m.id);
    else if (m.kind === 'lanes') {
      if (m.queue === this.deps.queue) void this.refreshLanes();
    } else if (m.queue === this.deps.queue) {
      this.paused = m.kind === 'pause';
      void this.reconcile();
    }
  }

  private async refreshLanes(): Promise<void> {
    try {
      this.lanes = await this.deps.store.lanes(this.deps.queue);
    } catch {
      return; // the backstop reads them again
    }
    await this.reconcile();
  }

  /** Starts a delivery now if a slot is free and none waits, else queues it for its lane's turn. */
  private dispatch(acks: AckBatch, lane: string, msg: ConsumeMessage): void {
    if (this.waitingCount === 0 && this.started < this.deps.options.concurrency) {
      this.begin(acks, msg);
      return;
    }
    const queue = this.waiting.get(lane);
    if (queue) queue.push(msg);
    else this.waiting.set(lane, [msg]);
    this.waitingCount++;
    this.next(acks);
  }

  private begin(acks: AckBatch, msg: ConsumeMessage): void {
    this.started++;
    this.track(
      this.onMessage(acks, msg).finally(() => {
        this.started--;
        if (this.waitingCount > 0 && this.acks === acks) this.next(acks);
      }),
    );
  }

  /** Fills free slots from the waiting lanes, one lane at a time in turn. */
  private next(acks: AckBatch): void {
    const concurrency = this.deps.options.concurrency;
    while (this.waitingCount > 0 && this.started < concurrency && !this.closing) {
      const lanes = [...this.waiting.keys()];
      const lane = lanes[this.turn++ % lanes.length]!;
      const queue = this.waiting.get(lane)!;
      const msg = queue.shift()!;
      if (queue.length === 0) this.waiting.delete(lane);
      this.waitingCount--;
      this.begin(acks, msg);
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
