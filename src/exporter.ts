import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config/load.js';
import { unsharded } from './config/sharding.js';
import { createGlobalMetrics, registerShardInfo } from './exposition/global.js';
import { ExpositionStore } from './exposition/store.js';
import type { Logger } from './logger.js';
import type { OtlpPush } from './otlp/push.js';
import { Scheduler } from './runtime/scheduler.js';
import { Tenant } from './runtime/tenant.js';
import { createApp } from './server/app.js';
import { VERSION } from './version.js';

/** Tenants start this far apart, so hundreds of them do not hit Entra ID and Graph in the same second. */
const STAGGER_MS = 25;

/** Wires config, tenants, scheduler, exposition and HTTP server; `stop()` is the graceful shutdown. */
export class Exporter {
  readonly tenants: Tenant[];
  readonly #scheduler = new Scheduler();
  readonly #global = createGlobalMetrics(VERSION);
  readonly #exposition = new ExpositionStore(this.#global.registry);
  readonly #startedAt = Date.now();
  #server?: Server;
  #otlp?: OtlpPush;

  constructor(private readonly config: Config, private readonly logger: Logger) {
    this.tenants = config.tenants.map((tenant) => new Tenant(tenant, config, logger));
    registerShardInfo(this.#global.registry)(config.shard ?? unsharded(config));
  }

  get ready(): boolean {
    return this.tenants.every((t) => t.ready && this.#exposition.rendered(t.name)) || Date.now() - this.#startedAt >= this.config.readyTimeout;
  }

  async start(): Promise<string> {
    this.tenants.forEach((tenant, index) => {
      this.#exposition.add(tenant);
      this.#scheduler.start(tenant.tasks, index * STAGGER_MS);
    });
    const app = createApp({
      exposition: this.#exposition, tenantNames: () => this.tenants.map((t) => t.name), isReady: () => this.ready, version: VERSION,
    });
    const { host, port } = parseListen(this.config.listen);
    this.#server = await new Promise<Server>((resolve, reject) => {
      const server = app.listen(port, host ?? '::', (error?: Error) => (error ? reject(error) : resolve(server)));
    });
    const address = this.#server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shown}:${address.port}`;
    this.logger.info({ address: url, tenants: this.tenants.length, version: VERSION }, 'listening');
    if (this.config.otlp) {
      // Loaded only when configured: the OpenTelemetry SDK is most of the exporter's dependencies by weight.
      const [{ startOtlpPush }, { gather }] = await Promise.all([import('./otlp/push.js'), import('./otlp/gather.js')]);
      this.#otlp = startOtlpPush(this.config.otlp, {
        gather: () => gather(this.tenants, this.#global.registry), exportsTotal: this.#global.otlpExports, logger: this.logger, serviceVersion: VERSION,
      });
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
