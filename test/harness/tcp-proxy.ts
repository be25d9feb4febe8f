// A TCP proxy on loopback in front of the API server, one per operator replica, that can stop forwarding:
// the connection stays open and every byte is swallowed, which is what a half-open connection or a network
// partition looks like to a client (no reset, no error, no answer). TLS passes through untouched.
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
  close(): Promise<void>;
}

export async function startHangableProxy(targetHost: string, targetPort: number): Promise<HangableProxy> {
  let hanging = false;
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
      from.on('data', (chunk: Buffer) => {
        if (hanging) {
          dead.add(client);
          dead.add(upstream);
        }
        if (dead.has(from) || to.destroyed) return;
        to.write(chunk);
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
