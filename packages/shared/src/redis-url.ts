import { Redis, type RedisOptions } from 'ioredis';

/**
 * DROVER_REDIS_URL in one of two forms:
 *   redis://[user:pass@]host[:6379][/db]     rediss:// for TLS (one server)
 *   redis+sentinel://[user:pass@]host[:26379][,host[:port]…]/<master name>[?db=N&sentinelUsername=…&sentinelPassword=…]
 * In the Sentinel form the user and password are those of the Redis servers (master and
 * replicas); the sentinels' own credentials, if they have any, go in the query. ioredis asks the
 * sentinels where the master is on every (re)connection, so a failover needs no restart.
 */
export const SENTINEL_URL_FORM = 'redis+sentinel://[user:pass@]host:26379[,host:port…]/<master name>[?db=N&sentinelUsername=…&sentinelPassword=…]';

const SENTINEL_SCHEME = /^redis\+sentinel:\/\//i;
const SENTINEL_QUERY = ['db', 'sentinelUsername', 'sentinelPassword'];

/** A DROVER_REDIS_URL that cannot work; the message names the part and never holds a secret. */
export class RedisUrlError extends Error {}

export function isSentinelUrl(url: string): boolean {
  return SENTINEL_SCHEME.test(url);
}

/**
 * ioredis options for a Redis URL of either form, for code that owns its connections (BullMQ
 * takes options, not a URL). Throws RedisUrlError on a malformed Sentinel URL.
 */
export function redisOptionsFromUrl(redisUrl: string): RedisOptions {
  if (isSentinelUrl(redisUrl)) return sentinelOptions(redisUrl);
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * A new ioredis connection to the Redis a URL names, with `extra` options on top. redis:// and
 * rediss:// URLs go to ioredis as they are (its own parser, query options included).
 */
export function createRedis(redisUrl: string, extra: RedisOptions = {}): Redis {
  return isSentinelUrl(redisUrl) ? new Redis({ ...sentinelOptions(redisUrl), ...extra }) : new Redis(redisUrl, extra);
}

/**
 * The URL with its secrets replaced by ***, for messages and logs, even when it is malformed:
 * the password (up to the last @) and everything from sentinelPassword= on.
 */
export function redactRedisUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0] ?? '';
  let rest = url.slice(scheme.length).replace(/([?&]sentinelPassword=).*$/i, '$1***');
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const colon = rest.indexOf(':');
    rest = `${colon >= 0 && colon < at ? rest.slice(0, colon + 1) : ''}***${rest.slice(at)}`;
  }
  return scheme + rest;
}

function sentinelOptions(redisUrl: string): RedisOptions {
  // Split by hand: new URL() refuses a list of hosts. The user info ends at the last @ before
  // the query, so a password holding / still parses; a ? or & in a value must be percent-encoded.
  const rest = redisUrl.replace(SENTINEL_SCHEME, '');
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const at = beforeQuery.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : beforeQuery.slice(0, at);
  const hostPath = beforeQuery.slice(at + 1);
  const slash = hostPath.indexOf('/');
  const hostList = slash < 0 ? hostPath : hostPath.slice(0, slash);
  const rawName = slash < 0 ? '' : hostPath.slice(slash + 1);
  const sentinels = hostList.split(',').map(sentinelAddress);
  const name = decoded(rawName, 'the master name');
  if (name === '' || name.includes('/')) throw new RedisUrlError(`the Sentinel master's name as the path (…/mymaster), in ${SENTINEL_URL_FORM}`);
  const options: RedisOptions = {
    sentinels,
    name,
    role: 'master',
    // After a failover a connection may still reach the old master, now a read-only replica:
    // reconnect (the sentinels name the new master) and resend the command, which did not run.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  if (userinfo) {
    const at = userinfo.indexOf(':');
    const username = decoded(at < 0 ? userinfo : userinfo.slice(0, at), 'the user name');
    const password = at < 0 ? '' : decoded(userinfo.slice(at + 1), 'the password');
    if (username) options.username = username;
    if (password) options.password = password;
  }
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    // The key is not echoed: with an unencoded & in a password, it would be part of the password.
    if (!SENTINEL_QUERY.includes(key)) throw new RedisUrlError(`query parameters only among ${SENTINEL_QUERY.join(', ')} (case-sensitive; percent-encode & in values)`);
  }
  const db = params.get('db');
  if (db !== null) {
    if (!/^\d{1,5}$/.test(db)) throw new RedisUrlError('db=N with N a database number (0, 1, …)');
    if (Number(db) > 0) options.db = Number(db);
  }
  const sentinelUsername = params.get('sentinelUsername');
  const sentinelPassword = params.get('sentinelPassword');
  if (sentinelUsername) options.sentinelUsername = sentinelUsername;
  if (sentinelPassword) options.sentinelPassword = sentinelPassword;
  return options;
}

/** `host`, `host:port` or `[v6 address]:port`; the port defaults to Sentinel's 26379. */
function sentinelAddress(item: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]@]+))(?::(\d{1,5}))?$/i.exec(item.trim());
  const port = Number(m?.[3] ?? 26379);
  if (!m || port < 1 || port > 65535) throw new RedisUrlError(`comma-separated sentinel addresses host:port before the master name, in ${SENTINEL_URL_FORM}`);
  return { host: m[1] ?? m[2]!, port };
}

function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError(`${what} percent-encoded (a % must start %XX)`);
  }
}
