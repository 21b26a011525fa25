/**
 * A TCP proxy in front of a test Redis that can cut a connection after Redis has run a command
 * and before its reply reaches the client: the one failure a client cannot tell from "not sent".
 */
import net from 'node:net';

export interface ReplyDroppingProxy {
  readonly url: string;
  /** The next request whose bytes contain `text` (case-insensitive) has its reply dropped. */
  dropReplyTo(text: string): void;
  /** Replies dropped so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function startReplyDroppingProxy(upstreamPort: number): Promise<ReplyDroppingProxy> {
  let armed = '';
  let dropped = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let dropNextReply = false;
    client.on('data', (data) => {
      if (armed && data.toString('latin1').toLowerCase().includes(armed)) {
        armed = '';
        dropNextReply = true;
      }
      upstream.write(data);
    });
    upstream.on('data', (data) => {
      if (!dropNextReply) {
        client.write(data);
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
