/**
 * The `drover` command: `drover start` (embedded mode, as `npm start`), and the operator
 * commands. Each subcommand lives in its own module, loaded only when it is asked for, and
 * exports `run(argv, env)` resolving to the process exit code.
 */
type Command = (argv: string[], env: NodeJS.ProcessEnv) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  start: { summary: 'run embedded mode: orchestrator + worker in one process', load: async () => (await import('./commands/start.js')).run },
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
    // `start` and `autoscale` keep running; they exit on their own signal handlers.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`drover: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
