import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DroverClient } from '@drover/client';

/** Where a command finds the API: flags first, then the environment, then the profile file. */
export interface ConnectionFlags {
  url?: string;
  key?: string;
  profile?: string;
}

export interface Connection {
  url: string;
  key: string;
  /** Where the URL and key came from, for error messages (never the key itself). */
  source: string;
}

/** A mistake in how the command was called (exit 2), as opposed to a failure of the API (exit 1). */
export class UsageError extends Error {}

/**
 * The profile file (DROVER_PROFILE_FILE, default ~/.config/drover/profiles.json) maps profile names
 * to `{ "url": ..., "key": ... }`; `--profile` or DROVER_PROFILE picks one, else the one named
 * `default` if there is one.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Connection {
  const file = env['DROVER_PROFILE_FILE'] ?? join(env['HOME'] ?? homedir(), '.config', 'drover', 'profiles.json');
  const name = flags.profile ?? env['DROVER_PROFILE'];
  const profile = readProfile(file, name);
  const url = flags.url ?? env['DROVER_URL'] ?? profile?.url;
  const key = flags.key ?? env['DROVER_KEY'] ?? profile?.key;
  if (!url) {
    throw new UsageError(`No API URL: give --url, set DROVER_URL, or add a profile to ${file} ({"default": {"url": "http://127.0.0.1:8080", "key": "..."}}).`);
  }
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new UsageError(`The API URL ${JSON.stringify(url)} is not an http(s) URL.`);
  }
  if (!key) {
    throw new UsageError(`No API key: give --key, set DROVER_KEY, or add "key" to the profile in ${file}. \`npm start\` prints the key it made for the run.`);
  }
  const source = flags.url ? '--url' : env['DROVER_URL'] ? 'DROVER_URL' : `profile ${JSON.stringify(name ?? 'default')} in ${file}`;
  return { url: url.replace(/\/+$/, ''), key, source };
}

export function clientFor(connection: Connection): DroverClient {
  return new DroverClient({ baseUrl: connection.url, apiKey: connection.key, userAgent: 'drover-cli' });
}

function readProfile(file: string, name: string | undefined): { url?: string; key?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && name === undefined) return undefined;
    throw new UsageError(`Cannot read the profile file ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})${name ? ` for profile ${JSON.stringify(name)}` : ''}.`);
  }
  let profiles: unknown;
  try {
    profiles = JSON.parse(text);
  } catch {
    throw new UsageError(`The profile file ${file} is not valid JSON.`);
  }
  if (!profiles || typeof profiles !== 'object') throw new UsageError(`The profile file ${file} must hold an object of profiles.`);
  const chosen = (profiles as Record<string, unknown>)[name ?? 'default'];
  if (chosen === undefined) {
    if (name === undefined) return undefined;
    throw new UsageError(`No profile ${JSON.stringify(name)} in ${file}; it has ${Object.keys(profiles).join(', ') || 'none'}.`);
  }
  if (!chosen || typeof chosen !== 'object') throw new UsageError(`Profile ${JSON.stringify(name ?? 'default')} in ${file} must be an object with url and key.`);
  const { url, key } = chosen as { url?: unknown; key?: unknown };
  return { ...(typeof url === 'string' ? { url } : {}), ...(typeof key === 'string' ? { key } : {}) };
}
