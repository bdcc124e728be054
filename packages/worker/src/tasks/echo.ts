import { EchoInput } from '@drover/shared';
import { defineTask } from '../task-definition.js';

/** Returns its input unchanged: a smoke test and the benchmark's no-op. */
export const echoTask = defineTask({
  name: 'echo',
  queue: 'general',
  input: EchoInput,
  description: 'Returns its input.',
  run: async (input) => input,
});
