/**
 * The `drover` command: `drover start` (embedded mode, as `npm start`), the API commands (submit,
 * get, wait, list, cancel, events, queues, workers, schedules, dead-letters: on @drover/client),
 * and the operator commands. Each subcommand lives in its own module, loaded only when it is asked for, and
 * exports `run(argv, env)` resolving to the process exit code.
 */
type Command = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const tasks = () => import('./commands/task-commands.js');
const fleet = () => import('./commands/fleet-commands.js');

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  start: { summary: 'run embedded mode: orchestrator + worker in one process', load: async () => (await import('./commands/start.js')).run },
  submit: { summary: 'submit a task (--wait: follow it to the end with a progress bar)', load: async () => (await tasks()).submit },
  get: { summary: 'show a task: status, attempts, input, output, error', load: async () => (await tasks()).get },
  wait: { summary: 'wait for a task to finish, with a progress bar', load: async () => (await tasks()).wait },
  list: { summary: 'list your tasks (filters, --all for every page)', load: async () => (await tasks()).list },
  cancel: { summary: 'cancel a task and everything it spawned', load: async () => (await tasks()).cancel },
  events: { summary: "follow a task's events live (or every task's with --all)", load: async () => (await tasks()).events },
  queues: { summary: 'queue depths and backlog; pause or resume a queue', load: async () => (await fleet()).queues },
  workers: { summary: 'live workers, their capacity and busy slots', load: async () => (await fleet()).workers },
  schedules: { summary: 'list, create and delete schedules', load: async () => (await import('./commands/schedule-commands.js')).schedules },
  'dead-letters': { summary: 'list, retry or discard dead letters', load: async () => (await import('./commands/dead-letter-commands.js')).deadLetters },
  autoscale: { summary: 'scale worker replicas on the backlog metric (HPA algorithm)', load: async () => (await import('./commands/autoscale.js')).run },
  backup: { summary: 'write a consistent snapshot of the task store to a file', load: async () => (await import('./commands/backup.js')).run },
  restore: { summary: 'load a snapshot into an empty task store', load: async () => (await import('./commands/restore.js')).run },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: drover <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n\`drover <command> --help\` describes a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`drover: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    // `start` and `autoscale` keep running; they exit on their own signal handlers. The API
    // commands end when their last request does.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`drover: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
