import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type DroverClient, DroverApiError, DroverClientError } from '@drover/client';
import { UsageError, clientFor, resolveConnection } from './cli-connection.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandInput {
  client: DroverClient;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** --json: print the API's JSON instead of tables. */
  json: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT, so a command following a stream ends cleanly. */
  signal: AbortSignal;
}

export interface ApiCommand {
  name: string;
  usage: string;
  options?: Options;
  run(input: CommandInput): Promise<number>;
}

const COMMON: Options = {
  url: { type: 'string' },
  key: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const CONNECTION_HELP = `connection (flags, else environment, else the profile file):
  --url URL        the orchestrator, e.g. http://127.0.0.1:8080   (DROVER_URL)
  --key KEY        an API key                                     (DROVER_KEY)
  --profile NAME   a profile of DROVER_PROFILE_FILE (default ~/.config/drover/profiles.json),
                   {"NAME": {"url": "...", "key": "..."}}; without one, the profile "default"
  --json           print JSON instead of a table`;

/**
 * A `drover` subcommand over the HTTP API: parses its flags and the connection's, makes the client
 * and turns failures into one line on stderr and an exit code (2: how it was called; 1: the API
 * or the network refused), never a stack trace.
 */
export function apiCommand(spec: ApiCommand): (argv: string[], env: NodeJS.ProcessEnv) => Promise<number> {
  return async (argv, env) => {
    const fail = (message: string, code: number) => {
      process.stderr.write(`drover ${spec.name}: ${message}\n`);
      return code;
    };
    let parsed: { values: CommandInput['values']; positionals: string[] };
    try {
      parsed = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { ...COMMON, ...spec.options } }) as typeof parsed;
    } catch (err) {
      return fail(`${(err as Error).message}\n\n${spec.usage}`, 2);
    }
    if (parsed.values['help']) {
      process.stdout.write(`${spec.usage}\n${CONNECTION_HELP}\n`);
      return 0;
    }
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const connection = resolveConnection(
        { url: parsed.values['url'] as string | undefined, key: parsed.values['key'] as string | undefined, profile: parsed.values['profile'] as string | undefined },
        env,
      );
      return await spec.run({
        client: clientFor(connection),
        values: parsed.values,
        positionals: parsed.positionals,
        json: parsed.values['json'] === true,
        stdout: process.stdout,
        stderr: process.stderr,
        env,
        signal: abort.signal,
      });
    } catch (err) {
      if (err instanceof UsageError) return fail(`${err.message}\n\n${spec.usage}`, 2);
      if (err instanceof DroverApiError) {
        const fields = err.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n');
        return fail(`${err.code} (HTTP ${err.status}): ${err.detail || err.title}${fields ? `\n${fields}` : ''}`, 1);
      }
      if (err instanceof DroverClientError) return fail(`${err.code}: ${err.message}`, 1);
      if (abort.signal.aborted) return 130;
      return fail(err instanceof Error ? err.message : String(err), 1);
    } finally {
      process.off('SIGINT', onSigint);
    }
  };
}

/** Prints `value` as JSON (--json) or with `table` otherwise. */
export function output(input: CommandInput, value: unknown, table: () => string): void {
  input.stdout.write(input.json ? `${JSON.stringify(value, null, 2)}\n` : table());
}

/** A task's input from a positional JSON argument, `-` (stdin) or --input-file. */
export async function readJsonArg(text: string | undefined, what: string): Promise<unknown> {
  if (text === undefined) return undefined;
  const raw = text === '-' ? await readStdin() : text;
  try {
    return JSON.parse(raw);
  } catch {
    throw new UsageError(`${what} is not valid JSON: ${raw.length > 80 ? `${raw.slice(0, 77)}...` : raw}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A whole number flag, or a usage error naming it. */
export function intFlag(values: CommandInput['values'], name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be a whole number >= ${min}; got ${JSON.stringify(v)}.`);
  return Number(v);
}

export function stringFlag(values: CommandInput['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
