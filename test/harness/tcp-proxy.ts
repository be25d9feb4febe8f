// A TCP proxy on loopback that can stop forwarding or forward late. In front of the API server, one per
// operator replica, `hang()` keeps the connection open and swallows every byte, which is what a half-open
// connection or a network partition looks like to a client (no reset, no error, no answer). In front of
// Prometheus, `slow(ms)` delivers every byte `ms` late: a server answering past the query timeout. TLS passes
// through untouched.
import net from 'node:net';

export interface HangableProxy {
  /** `host:port` to dial instead of the target. */
  readonly address: string;
  readonly port: number;
  /** Stop forwarding in both directions, on open and new connections, dropping what arrives. */
  hang(): void;
  /** Forward again; connections opened while hung stay dead (their bytes are gone), new ones work. */
  resume(): void;
  hung(): boolean;
  /** Deliver every byte `ms` late (0: at once again). */
  slow(ms: number): void;
  close(): Promise<void>;
}

export async function startHangableProxy(targetHost: string, targetPort: number): Promise<HangableProxy> {
  let hanging = false;
  let delayMs = 0;
  const sockets = new Set<net.Socket>();
  // A connection opened or cut while hung never forwards again: replaying part of a TLS stream is garbage.
  const dead = new WeakSet<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect({ host: targetHost, port: targetPort });
    sockets.add(upstream);
    if (hanging) {
      dead.add(client);
      dead.add(upstream);
    }
    const forward = (from: net.Socket, to: net.Socket) => {
      // Late bytes keep their order: each waits for the one before it, then for its own due time.
      let queue = Promise.resolve();
      let pending = 0;
      from.on('data', (chunk: Buffer) => {
        if (hanging) {
          dead.add(client);
          dead.add(upstream);
        }
        if (dead.has(from) || to.destroyed) return;
        if (delayMs === 0 && pending === 0) {
          to.write(chunk);
          return;
        }
        const due = Date.now() + delayMs;
        pending++;
        queue = queue.then(async () => {
          const wait = due - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          if (!to.destroyed && !dead.has(from)) to.write(chunk);
          pending--;
        });
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = (socket: net.Socket, other: net.Socket) => {
      const close = () => {
        sockets.delete(socket);
        // While hung the peer learns nothing, not even that the other side went away.
        if (!dead.has(socket)) other.destroy();
      };
      socket.on('close', close);
      socket.on('error', () => undefined);
    };
    end(client, upstream);
    end(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the proxy got no port');
  return {
    address: `127.0.0.1:${addr.port}`,
    port: addr.port,
    hang: () => {
      hanging = true;
    },
    resume: () => {
      hanging = false;
    },
    hung: () => hanging,
    slow: (ms) => {
      delayMs = ms;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
