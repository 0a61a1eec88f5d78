import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { WebConfig, WebTls } from '../config/web.js';
import type { Logger } from '../logger.js';
import type { WebSecurity } from './security.js';

export interface ListenOptions {
  handler: RequestListener;
  security: WebSecurity;
  /** host:port, :port or [v6]:port, as validated by the config schema. */
  listen: string;
  maxConnections: number;
  logger: Logger;
}

/**
 * How long a connection stays open between requests. Prometheus keeps an idle scrape connection 5 minutes ("typically
 * above the maximum sane scrape interval": prometheus/common config/http_config.go, idleConnTimeout), as Go
 * exporters keep theirs; Node's default, 5 s, closed it between any two scrapes, so each scrape paid for a new
 * connection and, with TLS, a new handshake. A little longer than Prometheus' own, so the client closes first: a
 * server closing a connection just as a request arrives on it fails that request (ECONNRESET).
 */
export const IDLE_CONNECTION_MS = 310_000;

export interface Listening {
  server: Server;
  url: string;
}

/**
 * Starts the HTTP server, or the HTTPS server when the web config has tls_server_config. Before each new connection
 * the web config is taken in again, so the handshake already uses a renewed certificate or client-auth policy
 * (exporter-toolkit reads it per connection too, GetConfigForClient in web/tls_config.go).
 */
export async function listen({ handler, security, listen: address, maxConnections, logger }: ListenOptions): Promise<Listening> {
  const initial = security.current();
  const server: Server = initial.tls ? createHttpsServer(tlsOptions(initial.tls), handler) : createHttpServer(handler);
  // Past this many open connections node closes new ones at once ('drop'); keep-alive connections count.
  server.maxConnections = maxConnections;
  server.keepAliveTimeout = IDLE_CONNECTION_MS;
  let lastDropWarning = 0;
  server.on('drop', () => {
    if (Date.now() - lastDropWarning < 60_000) return;
    lastDropWarning = Date.now();
    logger.warn({ maxConnections }, 'connection limit reached: closing new connections (--web.max-connections)');
  });

  if (initial.tls) {
    const https = server as HttpsServer;
    // Runs before tls's own 'connection' listener creates the TLS socket from the server's current settings.
    https.prependListener('connection', () => security.refresh());
    security.onChange((config) => applyTls(https, config));
    applyTls(https, initial);
    https.on('secureConnection', (socket: TLSSocket) => {
      const refusal = clientCertificateRefusal(security.current(), socket);
      if (refusal) {
        logger.debug({ remote: socket.remoteAddress, reason: refusal }, 'TLS connection refused');
        socket.destroy();
      }
    });
    https.on('tlsClientError', (error, socket: Socket) => logger.debug({ remote: socket.remoteAddress, error: error.message }, 'TLS handshake failed'));
  }

  const { host, port } = parseListen(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host ?? '::', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return { server, url: `${initial.tls ? 'https' : 'http'}://${shown}:${bound.port}` };
}

function tlsOptions(tls: WebTls): SecureContextOptions {
  return { cert: tls.certPem, key: tls.keyPem.reveal(), ca: tls.clientCaPem, minVersion: tls.minVersion, maxVersion: tls.maxVersion };
}

/**
 * Go's client-auth policies in node's terms. node asks for a certificate (requestCert) and can refuse the handshake
 * when none verifies (rejectUnauthorized); the two policies between are enforced after the handshake.
 * https://pkg.go.dev/crypto/tls#ClientAuthType
 */
function applyTls(server: HttpsServer, config: WebConfig): void {
  const tls = config.tls!;
  server.setSecureContext(tlsOptions(tls));
  // Read by node for each new connection (lib/_tls_wrap.js, tlsConnectionListener), like the secure context.
  const settings = server as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
  settings.requestCert = tls.clientAuth !== 'NoClientCert';
  settings.rejectUnauthorized = tls.clientAuth === 'RequireAndVerifyClientCert';
}

function clientCertificateRefusal(config: WebConfig, socket: TLSSocket): string | undefined {
  const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
  switch (config.tls?.clientAuth) {
    case 'RequireAnyClientCert':
      return presented ? undefined : 'no client certificate';
    case 'VerifyClientCertIfGiven':
      return presented && !socket.authorized ? `client certificate not verified: ${socket.authorizationError}` : undefined;
    default:
      return undefined;
  }
}

export function parseListen(listen: string): { host?: string; port: number } {
  const index = listen.lastIndexOf(':');
  const host = listen.slice(0, index).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port: Number(listen.slice(index + 1)) };
}
