/**
 * What travels through the broker: only "run task <id>, generation <g>". The record lives in
 * Redis; the generation lets a consumer tell the current message of a task from a stale copy
 * (a republish after a crash, a message left behind by a cancel or a retry).
 */
export function encodeTaskMessage(id: string, gen: number): Buffer {
  return Buffer.from(`${id} ${gen}`);
}

export function decodeTaskMessage(body: Buffer): { id: string; gen: number } | null {
  const text = body.toString('latin1');
  const space = text.indexOf(' ');
  if (space <= 0) return null;
  const gen = Number(text.slice(space + 1));
  return Number.isInteger(gen) ? { id: text.slice(0, space), gen } : null;
}
