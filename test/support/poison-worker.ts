import { Type } from '@sinclair/typebox';
import { createBackend, loadConfigOrExit } from '@drover/shared';
import { builtinTasks, createWorker, defineTask } from '@drover/worker';

/**
 * A worker process for the poison-task test: the built-in types plus `poison`, whose every run
 * takes its worker process down the way a real poison task does (a native crash's SIGKILL from
 * the OOM killer, or a library calling process.exit), alternating between the two.
 */
const poison = defineTask({
  name: 'poison',
  queue: 'general',
  input: Type.Object({}),
  run: async (_input, ctx) => {
    await new Promise((r) => setTimeout(r, 100));
    process.stderr.write(`poison: run ${ctx.attempt} takes the worker down\n`);
    if (ctx.attempt % 2 === 1) process.kill(process.pid, 'SIGKILL');
    process.exit(137);
  },
});

const config = loadConfigOrExit('poison-worker', process.env, { sharedBackend: true });
const backend = await createBackend(config);
const worker = createWorker({ backend, tasks: [...builtinTasks(), poison], concurrency: config.worker.concurrency, queues: config.worker.queues, id: `${config.instance}-${process.pid}` });
await worker.start();
process.stdout.write('worker ready\n');
process.once('SIGTERM', () => void worker.drain(2000).then(() => backend.close()).then(() => process.exit(0)));
