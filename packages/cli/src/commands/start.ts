/** `drover start`: embedded mode, exactly what `npm start` runs. It keeps the process alive. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: drover start\n\nRuns the orchestrator and a worker in one process (embedded mode). Configured by DROVER_* variables (README).\n');
    return 0;
  }
  await import('../main.js');
  return -1;
}
