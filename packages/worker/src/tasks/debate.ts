import { createHash } from 'node:crypto';
import { DebateInput, DebaterInput, JudgeInput } from '@drover/shared';
import type { LlmClient } from '../llm-client.js';
import { defineTask } from '../task-definition.js';

interface Answer {
  debater: number;
  text: string;
}

/**
 * The `debate` agent: `debaters` debater agents per round, for `rounds` rounds (each round sees
 * the previous round's answers), then a judge. It shows what Drover is for: the parent spawns
 * its agents and waits on them without holding a worker slot, and on resume it runs again from
 * the top, its earlier rounds answered from the memoised children.
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
    return { topic: input.topic, winner: verdict.winner, verdict: verdict.verdict, transcript };
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
      if (llm) {
        ctx.log.info(`debater ${input.debater} asks the model for round ${input.round}`);
        const heard = others.map((p) => `Debater ${p.debater} said: ${p.text}`).join('\n');
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
      return `Debater ${input.debater}, round ${input.round}: I am ${stance} on "${input.topic}".${reply}`;
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
