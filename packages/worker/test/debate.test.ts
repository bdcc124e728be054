import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddedGraphStore } from '@drover/graph';
import { EmbeddedMemoryStore } from '@drover/memory';
import { MemoryBackend, type TaskRecord, completeSubmit, readTree } from '@drover/shared';
import { taskFinished } from '@drover/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Worker, builtinTasks, createWorker } from '../src/index.js';

interface DebateOutput {
  topic: string;
  winner: number;
  verdict: string;
  transcript: Array<{ round: number; answers: Array<{ debater: number; text: string }> }>;
  recalled: Array<{ taskId: string; winner: number; verdict: string }>;
}

describe('the debate task', () => {
  let backend: MemoryBackend;
  let worker: Worker | undefined;
  let server: Server | undefined;

  let memory: EmbeddedMemoryStore;
  let graph: EmbeddedGraphStore;

  const debate = async (input: unknown, tenant = 't'): Promise<TaskRecord> => {
    const { task } = await backend.submit(completeSubmit({ type: 'debate', queue: 'debate', tenant, input, timeoutMs: 60_000 }));
    return taskFinished(backend, task.id, 30_000);
  };
  const start = async (llm?: { url: string; model: string }) => {
    // Two slots for a parent and three debaters a round: the parent must give its slot up.
    worker = createWorker({ backend, tasks: builtinTasks(llm ? { llm } : {}), concurrency: 2, queues: ['debate'], heartbeatMs: 200, memory, graph });
    await worker.start();
  };

  beforeEach(async () => {
    backend = new MemoryBackend();
    memory = new EmbeddedMemoryStore();
    graph = new EmbeddedGraphStore();
    await graph.init();
  });
  afterEach(async () => {
    await worker?.drain(0);
    await backend.close();
    await memory.close();
    await graph.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });

  it('runs debaters for each round, each round seeing the last, then a judge; deterministic without an LLM', async () => {
    await start();
    const done = await debate({ topic: 'Tabs or spaces', debaters: 3, rounds: 2 });
    expect(done.status).toBe('succeeded');
    const out = done.output as DebateOutput;
    expect(out.transcript.map((r) => r.answers.map((a) => a.debater))).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    // Round 1 hears nobody; in round 2 every debater answers another one by number.
    for (const a of out.transcript[0]!.answers) expect(a.text).not.toContain('Answering');
    for (const a of out.transcript[1]!.answers) expect(a.text).toMatch(new RegExp(`Answering debater [^${a.debater}\\D]`));
    expect(out.winner).toBeGreaterThanOrEqual(1);
    expect(out.verdict).toContain(`Debater ${out.winner} wins`);
    // 3 debaters x 2 rounds + 1 judge, all finished, under the one parent.
    const { tree, size } = await readTree(backend, done);
    expect(size).toBe(8);
    expect(tree.children.map((c) => c.type)).toEqual(['debater', 'debater', 'debater', 'debater', 'debater', 'debater', 'judge']);
    expect(tree.children.every((c) => c.status === 'succeeded')).toBe(true);
    expect(out.recalled).toEqual([]);
    // Same input, same debate, except that its debaters now recall the first one (its own memory).
    const again = (await debate({ topic: 'Tabs or spaces', debaters: 3, rounds: 2 })).output as DebateOutput;
    expect(again.transcript[1]).toEqual(out.transcript[1]);
    expect({ winner: again.winner, verdict: again.verdict }).toEqual({ winner: out.winner, verdict: out.verdict });
  });

  it('remembers each debate: debaters recall earlier ones on the same topic, never across tenants', async () => {
    await start();
    const first = await debate({ topic: 'Should agents keep memory', debaters: 2, rounds: 1 });
    const firstOut = first.output as DebateOutput;
    expect(firstOut.recalled).toEqual([]);
    for (const a of firstOut.transcript[0]!.answers) expect(a.text).not.toContain('I recall');

    const second = await debate({ topic: 'Should agents keep memory', debaters: 2, rounds: 1 });
    const secondOut = second.output as DebateOutput;
    expect(secondOut.recalled).toEqual([{ taskId: first.id, winner: firstOut.winner, verdict: firstOut.verdict }]);
    for (const a of secondOut.transcript[0]!.answers) expect(a.text).toContain(`I recall an earlier debate on this (${first.id}), where debater ${firstOut.winner} won.`);

    // Another topic recalls nothing; the same topic in another tenant recalls nothing either.
    const other = (await debate({ topic: 'Rust or Go for the scheduler', debaters: 2, rounds: 1 })).output as DebateOutput;
    expect(other.recalled).toEqual([]);
    const elsewhere = (await debate({ topic: 'Should agents keep memory', debaters: 2, rounds: 1 }, 'u')).output as DebateOutput;
    expect(elsewhere.recalled).toEqual([]);
    for (const a of elsewhere.transcript[0]!.answers) expect(a.text).not.toContain('I recall');

    // The graph holds the tree and the verdict: SPAWNED to each debater and the judge, PRODUCED the verdict.
    await worker!.drain(0); // flushes the batched graph writes
    worker = undefined;
    const around = await graph.neighbours('t', { label: 'Task', id: first.id });
    const relations = around.edges.filter((e) => e.from.id === first.id).map((e) => `${e.relation}->${e.to.label}`).sort();
    expect(relations).toEqual(['OF_TYPE->AgentType', 'PRODUCED->Artifact', 'SPAWNED->Task', 'SPAWNED->Task', 'SPAWNED->Task']);
    expect(around.nodes.find((n) => n.id === first.id)?.props['status']).toBe('succeeded');
    expect(around.nodes.find((n) => n.label === 'Artifact')?.props).toMatchObject({ kind: 'verdict', winner: firstOut.winner });
    expect((await graph.neighbours('u', { label: 'Task', id: first.id })).nodes).toEqual([]);
  });

  it('asks the configured OpenAI-compatible endpoint for every turn and the verdict', async () => {
    const asked: Array<{ model: string; messages: Array<{ role: string; content: string }>; auth: string | undefined }> = [];
    server = createServer(async (req, res) => {
      const body = JSON.parse(await text(req)) as { model: string; messages: Array<{ role: string; content: string }> };
      asked.push({ ...body, auth: req.headers.authorization });
      const system = body.messages[0]!.content;
      const content = system.startsWith('You judge') ? 'Winner: 2. Debater 2 argued best.' : `answer ${asked.length}`;
      res.writeHead(req.url === '/v1/chat/completions' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    await start({ url, model: 'test-model' });
    const done = await debate({ topic: 'Monorepos', debaters: 2, rounds: 2 });
    expect(done.status).toBe('succeeded');
    const out = done.output as DebateOutput;
    expect(out).toMatchObject({ winner: 2, verdict: 'Winner: 2. Debater 2 argued best.' });
    expect(asked).toHaveLength(5); // 2 debaters x 2 rounds + the judge
    expect(asked.every((a) => a.model === 'test-model')).toBe(true);
    // Round 2's prompts carry round 1's answers.
    const round2 = asked.filter((a) => a.messages[0]!.content.startsWith('You are debater') && a.messages[1]!.content.includes('Round 2'));
    expect(round2).toHaveLength(2);
    for (const a of round2) expect(a.messages[1]!.content).toMatch(/Debater \d said: answer \d/);
  });
});

async function text(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}
