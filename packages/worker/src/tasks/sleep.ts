import { PermanentError, SleepInput } from '@drover/shared';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineTask } from '../task-definition.js';

/** Waits input.ms, ending early when the signal aborts (cancel, timeout, shutdown). */
export const sleepTask = defineTask({
  name: 'sleep',
  queue: 'general',
  input: SleepInput,
  description: 'Waits input.ms milliseconds.',
  run: async (input, ctx) => {
    await sleep(input.ms, undefined, { signal: ctx.signal }).catch(() => {
      throw ctx.signal.reason;
    });
    if (input.fail) throw new PermanentError(`sleep failed on purpose after ${input.ms} ms`);
    return { slept: input.ms };
  },
});
