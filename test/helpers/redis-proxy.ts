/**
 * A TCP proxy in front of a test Redis (the real one, whose replies pass through) that can cut a
 * connection after Redis has run a command and before its reply reaches the client, the one
 * failure a client cannot tell from "not sent"; or pose as an older Redis, for the version check.
 */
import net from 'node:net';

export interface RedisProxyOptions {
  /** The major version INFO reports instead of the real one, minor 0 (6 for 7.2.4: 6.0.4). */
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
 * Rewrites the version after `redis_version:` to `<major>.0...` (7.2.4 reads 6.0.4), also when a
 * chunk ends inside it; a digit for a digit keeps every RESP length true. Single-digit majors.
 */
function versionRewriter(major: number): (data: Buffer) => Buffer {
  const marker = Buffer.from('redis_version:');
  let matched = 0;
  /** Bytes of the version seen so far: 0 the major, 1 the dot, 2 the minor's first digit. */
  let inVersion = -1;
  return (data) => {
    for (let i = 0; i < data.length; i++) {
      if (inVersion >= 0) {
        if (inVersion === 0) data[i] = 0x30 + major;
        else if (inVersion === 2) data[i] = 0x30;
        inVersion = inVersion === 2 ? -1 : inVersion + 1;
      } else if (matched === marker.length - 1 && data[i] === marker[matched]) {
        matched = 0;
        inVersion = 0;
      } else matched = data[i] === marker[matched] ? matched + 1 : data[i] === marker[0] ? 1 : 0;
    }
    return data;
  };
}
