import { format } from 'node:util';
import type { Logger, TaskLogLine } from '@drover/shared';

/** Levels whose lines a task's followers see as `log` events (debug and trace stay in the process log). */
const FOLLOWED_LEVELS = ['info', 'warn', 'error', 'fatal'] as const;
/** Longest message published; longer ones are cut (the process log keeps them whole). */
export const LOG_LINE_MAX_CHARS = 4096;
/** Most lines one attempt publishes, so a chatty handler cannot flood the event streams. */
export const LOG_LINES_PER_ATTEMPT = 1000;

/**
 * A task's logger: `base` (the process log) plus, for info and above, each line published to
 * the task's followers through `publish`. Best effort: a failed publish never fails the task.
 */
export function followedLogger(base: Logger, publish: (line: TaskLogLine) => Promise<void>): Logger {
  const logger = Object.create(base) as Logger;
  let published = 0;
  for (const level of FOLLOWED_LEVELS) {
    const write = base[level] as (...args: unknown[]) => void;
    (logger as unknown as Record<string, unknown>)[level] = (...args: unknown[]) => {
      write.apply(base, args);
      if (published >= LOG_LINES_PER_ATTEMPT) return;
      published++;
      const msg = published === LOG_LINES_PER_ATTEMPT ? `log events capped at ${LOG_LINES_PER_ATTEMPT} lines for this attempt` : messageOf(args);
      publish({ level, msg }).catch(() => undefined);
    };
  }
  return logger;
}

/** The line pino would print as `msg`: (obj, msg, ...args) or (msg, ...args); an Error's message. */
function messageOf(args: unknown[]): string {
  const [first, ...rest] = args;
  let msg: string;
  if (typeof first === 'string') msg = format(first, ...rest);
  else if (first instanceof Error) msg = typeof rest[0] === 'string' ? format(...rest) : first.message;
  else msg = typeof rest[0] === 'string' ? format(...rest) : '';
  return msg.length > LOG_LINE_MAX_CHARS ? `${msg.slice(0, LOG_LINE_MAX_CHARS - 1)}…` : msg;
}
