import { describe, expect, it } from 'vitest';
import { LocalEmbedder } from '../src/index.js';
import { TopKHeap } from '../src/top-k-heap.js';

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('LocalEmbedder', () => {
  it('is deterministic, unit length and 256-dimensional by default', async () => {
    const e = new LocalEmbedder();
    const [a, b] = await e.embed(['Hello World', 'hello   world!']);
    expect(a).toHaveLength(256);
    expect(dot(a!, a!)).toBeCloseTo(1, 6);
    // Case and punctuation do not change the words.
    expect(a).toEqual(b);
    expect(await new LocalEmbedder().embed(['Hello World'])).toEqual([a]);
  });

  it('puts texts that share words nearer than texts that do not', async () => {
    const [q, near, far] = await new LocalEmbedder().embed(['queue backlog autoscaling', 'autoscaling workers on the queue backlog', 'chocolate cake recipe']);
    expect(dot(q!, near!)).toBeGreaterThan(0.5);
    expect(dot(q!, near!)).toBeGreaterThan(dot(q!, far!) + 0.3);
  });

  it('gives text without words a direction of its own', async () => {
    const [v] = await new LocalEmbedder().embed(['!!!']);
    expect(dot(v!, v!)).toBeCloseTo(1, 6);
  });
});

describe('TopKHeap', () => {
  it('keeps the same k as a full sort, ties to the lower row', () => {
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(Math.random() * 300);
      const k = 1 + Math.floor(Math.random() * 20);
      // Rounded scores make ties common.
      const scores = Array.from({ length: n }, () => Math.round(Math.random() * 20) / 20);
      const heap = new TopKHeap(k);
      scores.forEach((s, i) => {
        heap.push(s, i);
      });
      const expected = scores
        .map((score, row) => ({ score, row }))
        .sort((a, b) => b.score - a.score || a.row - b.row)
        .slice(0, k);
      expect(heap.drain()).toEqual(expected);
    }
  });
});
