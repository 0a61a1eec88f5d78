import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Scheduler } from './collectors/scheduler.js';
import type { Config } from './config/load.js';
import type { Logger } from './logger.js';
import { startOtlpPush, type OtlpPush } from './metrics/otlp.js';
import { createGlobalMetrics, gather } from './metrics/registry.js';
import { createApp } from './server/app.js';
import { Tenant } from './tenant.js';
import { VERSION } from './version.js';

/** Wires config, tenants, scheduler and HTTP server; `stop()` is the graceful shutdown. */
export class Exporter {
  readonly tenants: Tenant[];
  readonly #scheduler = new Scheduler();
  readonly #global = createGlobalMetrics(VERSION);
  readonly #startedAt = Date.now();
  #server?: Server;
  #otlp?: OtlpPush;

  constructor(private readonly config: Config, private readonly logger: Logger) {
    this.tenants = config.tenants.map((tenant) => new Tenant(tenant, config, logger));
  }

  get ready(): boolean {
    return this.tenants.every((t) => t.ready) || Date.now() - this.#startedAt >= this.config.readyTimeout;
  }

  async start(): Promise<string> {
    this.#scheduler.start(this.tenants, this.config.refresh);
    const app = createApp({ globalRegistry: this.#global.registry, tenants: this.tenants, isReady: () => this.ready, version: VERSION });
    const { host, port } = parseListen(this.config.listen);
    this.#server = await new Promise<Server>((resolve, reject) => {
      const server = app.listen(port, host ?? '::', (error?: Error) => (error ? reject(error) : resolve(server)));
    });
    const address = this.#server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shown}:${address.port}`;
    this.logger.info({ address: url, tenants: this.tenants.length, version: VERSION }, 'listening');
    if (this.config.otlp) {
      // The same registries /metrics renders; the push runs on its own timer and never touches a scrape.
      const registries = [this.#global.registry, ...this.tenants.flatMap((tenant) => [tenant.metrics.registry, tenant.metrics.volatileRegistry])];
      this.#otlp = startOtlpPush(this.config.otlp, { gather: () => gather(registries), exportsTotal: this.#global.otlpExports, logger: this.logger, serviceVersion: VERSION });
    }
    return url;
  }

  async stop(): Promise<void> {
    const closed = this.#server ? new Promise<void>((resolve) => this.#server!.close(() => resolve())) : Promise.resolve();
    this.#server?.closeIdleConnections();
    await this.#scheduler.stop();
    // A last export of the final values, bounded by the OTLP timeout.
    await this.#otlp?.stop();
    const timer = setTimeout(() => this.#server?.closeAllConnections(), 5_000).unref();
    await closed;
    clearTimeout(timer);
  }
}

export function parseListen(listen: string): { host?: string; port: number } {
  const index = listen.lastIndexOf(':');
  const host = listen.slice(0, index).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port: Number(listen.slice(index + 1)) };
}
