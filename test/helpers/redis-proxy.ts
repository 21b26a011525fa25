/**
 * A TCP proxy in front of a test Redis (the real one, whose replies pass through) that can cut a
 * connection after Redis has run a command and before its reply reaches the client, the one
 * failure a client cannot tell from "not sent"; or pose as an older Redis, for the version check.
 */
import net from 'node:net';

export interface RedisProxyOptions {
  /** The major version INFO reports instead of the real one (e.g. 6 for a 7.x server). */
  reportMajorVersion?: number;
}

export interface RedisProxy {
  readonly url: string;
  /** The next request whose bytes contain `text` (case-insensitive) has its reply dropped. */
  dropReplyTo(text: string): void;
  /** Replies dropped so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startRedisProxy(
  upstreamPort: number,
  { reportMajorVersion }: RedisProxyOptions = {},
): Promise<RedisProxy> {
  let armed = '';
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let dropNextReply = false;
    const rewrite = reportMajorVersion === undefined ? null : versionRewriter(reportMajorVersion);
    client.on('data', (data) => {
      if (armed && data.toString('latin1').toLowerCase().includes(armed)) {
        armed = '';
        dropNextReply = true;
      }
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (!dropNextReply) {
        client.write(rewrite ? rewrite(data) : data);
        return;
      }
      dropped++;
      client.destroy();
      upstream.destroy();
    });
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    dropReplyTo(text) {
      armed = text.toLowerCase();
    },
    get dropped() {
      return dropped;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Rewrites the digit after `redis_version:` in a reply stream, also when a chunk ends inside it;
 * one digit for one keeps every RESP length true. Single-digit majors only (6, 7, 8, 9).
 */
function versionRewriter(major: number): (data: Buffer) => Buffer {
  const marker = Buffer.from('redis_version:');
  let matched = 0;
  return (data) => {
    for (let i = 0; i < data.length; i++) {
      if (matched === marker.length) {
        data[i] = 0x30 + major;
        matched = 0;
      } else matched = data[i] === marker[matched] ? matched + 1 : data[i] === marker[0] ? 1 : 0;
    }
    return data;
  };
}
