/**
 * A real HTTP CONNECT proxy on an ephemeral 127.0.0.1 port, as a corporate egress proxy behaves (RFC 9110 §9.3.6):
 * it records every tunnel asked for, can require Basic credentials (407 otherwise), and resolves names itself, so
 * a client configured with a name only the proxy knows (`hosts`) can reach its target through the proxy alone.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface Tunnel {
  /** host:port as the client asked for it. */
  target: string;
  /** The Proxy-Authorization header the client sent, if any. */
  authorization?: string;
  /** 200 when the tunnel was opened, else the status answered. */
  status: number;
}

export interface ConnectProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  readonly tunnels: Tunnel[];
  /** Plain (non-CONNECT) requests received: a client using the proxy for https should send none. */
  readonly plainRequests: string[];
  stop(): Promise<void>;
}

export interface ConnectProxyOptions {
  /** Names the proxy resolves itself: `{ 'm365.sim.test': '127.0.0.1' }`. */
  hosts?: Record<string, string>;
  /** Require these Basic credentials (407 Proxy Authentication Required otherwise). */
  credentials?: { user: string; password: string };
}

export async function startConnectProxy(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const tunnels: Tunnel[] = [];
  const plainRequests: string[] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials && `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString('base64')}`;

  const server = createServer((req, res) => {
    plainRequests.push(`${req.method} ${req.url}`);
    res.writeHead(405, { 'content-type': 'text/plain' }).end('this proxy only tunnels (CONNECT)\n');
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const authorization = req.headers['proxy-authorization'];
    const tunnel: Tunnel = { target, ...(authorization !== undefined && { authorization }), status: 200 };
    tunnels.push(tunnel);
    const refuse = (status: number, reason: string, extra = '') => {
      tunnel.status = status;
      client.end(`HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    if (expected && authorization !== expected) return refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n');
    const match = /^(.+):(\d+)$/.exec(target);
    if (!match) return refuse(400, 'Bad Request');
    const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
    const upstream = connect(Number(match[2]), options.hosts?.[host] ?? host);
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    let open = false;
    upstream.once('connect', () => {
      open = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => (open ? client.destroy() : refuse(502, 'Bad Gateway')));
    client.once('error', () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    plainRequests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
