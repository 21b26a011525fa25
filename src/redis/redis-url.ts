/**
 * What a Redis URL must be before ioredis sees it. ioredis reads the path as the database number
 * and lets a bad one through: `redis://h/tmp/x` wrote to database 0, then crashed on `SELECT NaN`;
 * `redis:///run/redis.sock` (no host) quietly meant localhost:6379. Used by the config schema and
 * the client, without convict (worker processes do not load it).
 */

/** redis://user:secret@host -> redis://user:***@host, also for a URL too broken to parse. */
export function redactUrl(s: string): string {
  const at = s.lastIndexOf('@');
  if (at === -1) return s;
  const slashes = s.indexOf('//');
  const start = slashes !== -1 && slashes < at ? slashes + 2 : 0;
  const colon = s.indexOf(':', start);
  const user = colon !== -1 && colon < at ? s.slice(start, colon + 1) : '';
  return `${s.slice(0, start)}${user}***${s.slice(at)}`;
}

/** Throws an Error saying what is wrong (never showing the password); returns nothing if fine. */
export function checkRedisUrl(v: unknown): void {
  const text = JSON.stringify(typeof v === 'string' ? redactUrl(v) : v);
  let url: URL;
  try {
    url = new URL(String(v));
  } catch {
    throw new Error(`must be a redis:// or rediss:// URL, got ${text}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`must be a redis:// or rediss:// URL, got protocol ${url.protocol}`);
  }
  if (url.hostname === '')
    throw new Error(`names no host (a unix socket path is not a Redis URL), got ${text}`);
  if (!/^\/?(\d+)?$/.test(url.pathname)) {
    throw new Error(`the path is the database number (redis://host:6379/2), got ${url.pathname}`);
  }
}
