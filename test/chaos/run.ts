/**
 * The chaos suite in full (issue 14), on its own:
 *
 *   node --conditions=@drover/source --import tsx test/chaos/run.ts [--backend bullmq|rabbitmq|both] [--tasks 10000] [--write-docs]
 *
 * Prints the table of figures; with --write-docs also puts it in docs/reliability.md, between the
 * markers of its backend. See chaos.ts for what it starts and which faults it injects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chaosTable, runChaos } from './chaos.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'both' },
    tasks: { type: 'string', default: '10000' },
    'write-docs': { type: 'boolean', default: false },
  },
});
const backends = values.backend === 'both' ? (['bullmq', 'rabbitmq'] as const) : [values.backend as 'bullmq' | 'rabbitmq'];
const doc = resolve(import.meta.dirname, '../../docs/reliability.md');
let failed = false;
for (const backend of backends) {
  const report = await runChaos({ backend, tasks: Number(values.tasks), leafMs: [20, 120], killEveryMs: 3000, faultSpacingMs: 2500, log: (l) => console.log(l) });
  const table = chaosTable(report);
  console.log(`\n${table}\n`);
  if (report.lost > 0 || report.duplicates > 0 || report.fencedResults > 0 || report.acknowledged !== report.submitted) failed = true;
  if (values['write-docs']) {
    const text = readFileSync(doc, 'utf8');
    const start = `<!-- chaos:${backend} -->`;
    const end = `<!-- /chaos:${backend} -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/reliability.md has no ${start} ... ${end} markers`);
    const stamp = `Full run of ${new Date().toISOString().slice(0, 10)} (\`node --conditions=@drover/source --import tsx test/chaos/run.ts --backend ${backend} --tasks ${values.tasks} --write-docs\`):`;
    writeFileSync(doc, `${text.slice(0, from + start.length)}\n${stamp}\n\n${table}\n${text.slice(to)}`);
  }
}
process.exit(failed ? 1 : 0);
