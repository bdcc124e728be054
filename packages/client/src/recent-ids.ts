/**
 * The last `capacity` event ids seen, to drop an event a resumed stream sends again (a replica
 * whose history lacks the Last-Event-ID replays from its time, which may repeat a few).
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity = 1024) {}

  /** true the first time `id` is offered (and remembers it), false for a repeat. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}
