import { createHash } from 'node:crypto';
import { DebateInput, DebaterInput, JudgeInput } from '@drover/shared';
import type { LlmClient } from '../llm-client.js';
import { type TaskContext, defineTask } from '../task-definition.js';

/** The memory collection debates are remembered in (per tenant), keyed by their topic. */
export const DEBATES_COLLECTION = 'debates';

/** Recalled verdicts this close to the topic count as "the same topic" (cosine similarity). */
const SAME_TOPIC = 0.8;

interface EarlierDebate {
  taskId: string;
  winner: number;
  verdict: string;
}

/** Verdicts of this tenant's earlier debates on (nearly) the same topic, best match first. */
async function earlierDebates(ctx: TaskContext, topic: string, exclude: string): Promise<EarlierDebate[]> {
  const hits = await ctx.memory.recall(DEBATES_COLLECTION, topic, { k: 3 });
  return hits
    .filter((h) => h.score >= SAME_TOPIC && h.id !== exclude)
    .map((h) => ({ taskId: h.id, winner: Number(h.payload['winner']), verdict: String(h.payload['verdict']) }));
}

interface Answer {
  debater: number;
  text: string;
}

/**
 * The `debate` agent: `debaters` debater agents per round, for `rounds` rounds (each round sees
 * the previous round's answers), then a judge. It shows what Drover is for: the parent spawns
 * its agents and waits on them without holding a worker slot, and on resume it runs again from
 * the top, its earlier rounds answered from the memoised children. Debates are remembered
 * (ctx.memory, collection `debates`): debaters recall the verdicts of earlier debates on the same
 * topic, and the verdict is a PRODUCED artifact of the debate in the task graph.
 */
export const debateTask = defineTask({
  name: 'debate',
  queue: 'debate',
  input: DebateInput,
  timeoutMs: 600_000,
  description: 'Spawns debater agents for some rounds and a judge; returns the verdict and the transcript.',
  run: async (input, ctx) => {
    const debaters = input.debaters ?? 3;
    const rounds = input.rounds ?? 2;
    const transcript: Array<{ round: number; answers: Answer[] }> = [];
    let previous: Answer[] = [];
    for (let round = 1; round <= rounds; round++) {
      const turns = Array.from({ length: debaters }, (_, i) => ctx.spawn('debater', { topic: input.topic, debater: i + 1, round, previous }, { queue: 'debate' }));
      const texts = (await ctx.all(turns)) as string[];
      previous = texts.map((text, i) => ({ debater: i + 1, text }));
      transcript.push({ round, answers: previous });
      await ctx.progress(Math.round((100 * round) / (rounds + 1)));
    }
    const judge = await ctx.spawn('judge', { topic: input.topic, transcript }, { queue: 'debate' });
    const verdict = (await judge.result()) as { winner: number; verdict: string };
    // Only the final run gets here (earlier runs suspended on their children), so each debate is
    // remembered once; ids are the task's, so a repeat of this run overwrites rather than adds.
    const recalled = await earlierDebates(ctx, input.topic, ctx.task.id);
    await ctx.memory.remember(DEBATES_COLLECTION, [{ id: ctx.task.id, text: input.topic, payload: { topic: input.topic, winner: verdict.winner, verdict: verdict.verdict } }]);
    await ctx.graph.produced({ id: `${ctx.task.id}:verdict`, kind: 'verdict', props: { winner: verdict.winner } });
    return { topic: input.topic, winner: verdict.winner, verdict: verdict.verdict, transcript, recalled };
  },
});

const STANCES = ['in favour', 'against', 'in favour, with conditions', 'sceptical'];

/** A debater: calls the LLM when one is configured, else answers deterministically from its input. */
export function debaterTask(llm: LlmClient | undefined) {
  return defineTask({
    name: 'debater',
    queue: 'debate',
    input: DebaterInput,
    maxAttempts: 3,
    description: "One debater's turn (spawned by debate).",
    run: async (input, ctx) => {
      const others = input.previous.filter((p) => p.debater !== input.debater);
      // What earlier debates on this topic decided, in the first round (later rounds answer each other).
      const earlier = input.round === 1 ? await earlierDebates(ctx, input.topic, ctx.task.parentId ?? '') : [];
      if (earlier.length > 0) ctx.log.info(`debater ${input.debater} recalls ${earlier.length} earlier debate(s) on this topic`);
      if (llm) {
        ctx.log.info(`debater ${input.debater} asks the model for round ${input.round}`);
        const recalledText = earlier.map((e) => `An earlier debate on this topic concluded: ${e.verdict}`).join('\n');
        const heard = [recalledText, ...others.map((p) => `Debater ${p.debater} said: ${p.text}`)].filter(Boolean).join('\n');
        return llm.chat(
          [
            { role: 'system', content: `You are debater ${input.debater} in a debate. Answer in at most three sentences.` },
            { role: 'user', content: `Topic: ${input.topic}\nRound ${input.round}.${heard ? `\n${heard}\nRespond to them.` : ''}` },
          ],
          ctx.signal,
        );
      }
      ctx.log.info(`debater ${input.debater} answers round ${input.round} (deterministic)`);
      const stance = STANCES[digest(`${input.topic}|${input.debater}`) % STANCES.length];
      const reply = others.length > 0 ? ` Answering debater ${others[digest(`${input.topic}|${input.round}|${input.debater}`) % others.length]!.debater}: ${pointOf(input.topic, input.round)}` : '';
      const recall = earlier[0] ? ` I recall an earlier debate on this (${earlier[0].taskId}), where debater ${earlier[0].winner} won.` : '';
      return `Debater ${input.debater}, round ${input.round}: I am ${stance} on "${input.topic}".${recall}${reply}`;
    },
  });
}

/** The judge: the LLM's verdict when configured, else a deterministic score of the last round. */
export function judgeTask(llm: LlmClient | undefined) {
  return defineTask({
    name: 'judge',
    queue: 'debate',
    input: JudgeInput,
    maxAttempts: 3,
    description: 'Judges a debate transcript (spawned by debate).',
    run: async (input, ctx) => {
      const last = input.transcript[input.transcript.length - 1]?.answers ?? [];
      if (llm) {
        const text = input.transcript.map((r) => r.answers.map((a) => `Round ${r.round}, debater ${a.debater}: ${a.text}`).join('\n')).join('\n');
        const verdict = await llm.chat(
          [
            { role: 'system', content: 'You judge debates. Start your answer with "Winner: <debater number>." then give one sentence why.' },
            { role: 'user', content: `Topic: ${input.topic}\n${text}` },
          ],
          ctx.signal,
        );
        const winner = Number(/Winner:\s*(\d+)/i.exec(verdict)?.[1] ?? last[0]?.debater ?? 1);
        return { winner, verdict };
      }
      ctx.log.info(`judging ${input.transcript.length} round(s) (deterministic)`);
      const scored = last.map((a) => ({ debater: a.debater, score: digest(a.text) % 100 }));
      scored.sort((a, b) => b.score - a.score || a.debater - b.debater);
      const best = scored[0] ?? { debater: 1, score: 0 };
      return { winner: best.debater, verdict: `Debater ${best.debater} wins on "${input.topic}" with ${best.score} points after ${input.transcript.length} round(s).` };
    },
  });
}

function digest(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

function pointOf(topic: string, round: number): string {
  return `round ${round - 1} did not settle whether "${topic}" holds in practice.`;
}
