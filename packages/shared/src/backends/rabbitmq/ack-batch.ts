import type { Channel, Message } from 'amqplib';

/**
 * Acknowledges the deliveries of one channel in as few frames as possible: when a run of the
 * oldest outstanding deliveries is settled, one `multiple` ack covers it; settled deliveries
 * behind a still-running older one are acked one by one, so a slow task never holds finished
 * ones (and their prefetch slots) hostage. Everything settled in one turn of the event loop
 * goes out together.
 */
export class AckBatch {
  /** Outstanding delivery tags of this channel, in delivery (= ascending) order. */
  private readonly outstanding: number[] = [];
  private readonly settled = new Set<number>();
  private scheduled = false;

  constructor(private readonly ch: Channel) {}

  delivered(msg: Message): void {
    this.outstanding.push(msg.fields.deliveryTag);
  }

  ack(msg: Message): void {
    this.settled.add(msg.fields.deliveryTag);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Rejections are rare and go out at once (requeue, or dead-letter when requeue is false). */
  nack(msg: Message, requeue: boolean): void {
    this.forget(msg.fields.deliveryTag);
    try {
      this.ch.nack(msg, false, requeue);
    } catch {
      // channel closed: the broker requeued the message already
    }
  }

  private flush(): void {
    this.scheduled = false;
    let prefixEnd = -1;
    while (this.outstanding.length > 0 && this.settled.has(this.outstanding[0]!)) {
      prefixEnd = this.outstanding.shift()!;
      this.settled.delete(prefixEnd);
    }
    try {
      if (prefixEnd >= 0) this.ch.ack(tagOnly(prefixEnd), true);
      for (const tag of this.settled) {
        this.forget(tag);
        this.ch.ack(tagOnly(tag), false);
      }
    } catch {
      // channel closed: the broker requeued the unacknowledged messages already
    }
    this.settled.clear();
  }

  private forget(tag: number): void {
    const i = this.outstanding.indexOf(tag);
    if (i >= 0) this.outstanding.splice(i, 1);
  }
}

function tagOnly(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
