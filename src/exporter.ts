import type { Server } from 'node:http';
import { ConfigError, type Config } from './config/load.js';
import { sameConfigValue, secretValues } from './config/secret.js';
import { unsharded } from './config/sharding.js';
import { createGlobalMetrics, registerShardInfo } from './exposition/global.js';
import { ExpositionStore } from './exposition/store.js';
import { History } from './history/history.js';
import type { Logging } from './logger.js';
import type { OtlpPush } from './otlp/push.js';
import { releasePooledMemory } from './runtime/heap.js';
import { Scheduler } from './runtime/scheduler.js';
import { Tenant } from './runtime/tenant.js';
import { createApp, type ReloadOutcome } from './server/app.js';
import { listen } from './server/listen.js';
import { WebSecurity } from './server/security.js';
import { VERSION } from './version.js';

/** How often the exporter looks whether the fleet is ready, to release the memory of its first refreshes then. */
const READY_CHECK_MS = 1_000;

/** Tenants start this far apart, so hundreds of them do not hit Entra ID and Graph in the same second. */
const STAGGER_MS = 25;

/**
 * Settings no tenant reads. Every other top-level setting counts as read by every tenant, so one added later
 * restarts the tenants when it changes rather than being silently ignored by a reload.
 */
const NOT_TENANT_SETTINGS = new Set(['tenants', 'source', 'listen', 'logLevel', 'logFormat', 'readyTimeout', 'otlp', 'storage',
  // Which tenants this replica runs, not how: a tenant added to the fleet (another shard's, too) restarts none.
  'sharding', 'shard']);

export interface ExporterOptions {
  config: Config;
  logging: Logging;
  /** Loads the configuration again as at start (the file or the environment, then the flags): SIGHUP, /-/reload. */
  loadConfig(): Config;
  /** --web.config.file: TLS, basic auth, headers; re-read whenever it changes. */
  webConfigFile?: string;
  /** --web.max-connections */
  maxConnections: number;
}

/** Wires config, tenants, scheduler, exposition and HTTP server; `reload()` applies a new configuration, `stop()` shuts down. */
export class Exporter {
  #config: Config;
  #tenants: Tenant[];
  readonly #options: ExporterOptions;
  readonly #logging: Logging;
  readonly #scheduler = new Scheduler();
  readonly #global = createGlobalMetrics(VERSION);
  readonly #exposition = new ExpositionStore(this.#global.registry);
  readonly #shardInfo = registerShardInfo(this.#global.registry);
  readonly #security: WebSecurity;
  readonly #startedAt = Date.now();
  #reloading: Promise<unknown> = Promise.resolve();
  #server?: Server;
  #otlp?: OtlpPush;
  /** Opened at start, before the first tenant starts: tenants continue from what it saved. */
  #history?: History;
  #readyCheck?: NodeJS.Timeout;

  /** Throws a ConfigError when the web config is invalid. */
  constructor(options: ExporterOptions) {
    this.#options = options;
    this.#logging = options.logging;
    this.#config = options.config;
    this.#applyLogging(options.config);
    this.#security = new WebSecurity({ path: options.webConfigFile, logger: this.#logger, onSecrets: (values) => this.#logging.addSecrets(values) });
    this.#tenants = options.config.tenants.map((tenant) => new Tenant(tenant, options.config, this.#logger));
    this.#shardInfo(options.config.shard ?? unsharded(options.config));
    this.#global.configLoaded(true);
  }

  get tenants(): readonly Tenant[] {
    return this.#tenants;
  }

  get #logger() {
    return this.#logging.logger;
  }

  get ready(): boolean {
    return this.#tenants.every((t) => t.ready && this.#exposition.rendered(t.name)) || Date.now() - this.#startedAt >= this.#config.readyTimeout;
  }

  async start(): Promise<string> {
    this.#history = await History.open(this.#config.storage, this.#logger, this.#global.registry);
    await this.#startTenants(this.#tenants);
    const app = createApp({
      exposition: this.#exposition,
      tenantNames: () => this.#tenants.map((t) => t.name),
      isReady: () => this.ready,
      version: VERSION,
      security: this.#security,
      reload: () => this.reload(),
      history: this.#history,
      tenants: () => this.#tenants,
    });
    const { server, url } = await listen({
      handler: app, security: this.#security, listen: this.#config.listen, maxConnections: this.#options.maxConnections, logger: this.#logger,
    });
    this.#server = server;
    this.#logger.info({ address: url, tenants: this.#tenants.length, version: VERSION, maxConnections: this.#options.maxConnections }, 'listening');
    await this.#startOtlp();
    this.#releaseFirstRefreshesWhenReady();
    return url;
  }

  /**
   * Once the fleet is ready, one memory-reducing collection gives back the pages its first refreshes took at once,
   * which V8 would otherwise keep (./runtime/heap.ts): at 500 tenants RSS fell from 418 to 316–337 MiB and stayed there.
   * Once per process: tenants a reload adds start with the fleet already running, a smaller peak.
   */
  #releaseFirstRefreshesWhenReady(): void {
    this.#readyCheck = setInterval(() => {
      if (!this.ready) return;
      clearInterval(this.#readyCheck);
      const { heldMs, rssBytesBefore, rssBytesAfter } = releasePooledMemory();
      const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
      this.#logger.info({ heldMs: Math.round(heldMs), rssMiBBefore: mib(rssBytesBefore), rssMiBAfter: mib(rssBytesAfter) }, 'ready: released the memory of the first refreshes');
    }, READY_CHECK_MS).unref();
  }

  /**
   * Loads the configuration again and applies what changed: tenants added, removed or changed are started, stopped
   * or restarted; an unchanged tenant keeps its token, its cached data and its counters. A configuration that does
   * not load changes nothing. Reloads run one at a time.
   */
  reload(): Promise<ReloadOutcome> {
    const next = this.#reloading.then(() => this.#reload()).catch((error: unknown): ReloadOutcome => {
      // A bug, not a bad configuration: say so, and keep later reloads possible.
      this.#global.configLoaded(false);
      this.#logger.error({ err: error }, 'configuration reload failed');
      return { ok: false, error: 'internal error; see the log' };
    });
    this.#reloading = next;
    return next;
  }

  async #reload(): Promise<ReloadOutcome> {
    this.#security.refresh();
    const previous = this.#config;
    let config: Config;
    let next: Tenant[];
    const running = new Map(this.#tenants.map((tenant) => [tenant.name, tenant]));
    try {
      config = keepUnchangedSettings(previous, this.#options.loadConfig());
      const restartAll = tenantSettingsChanged(previous, config);
      // Every new tenant is made before anything stops, so a failure here leaves the running ones as they are.
      next = config.tenants.map((tenant) => {
        const current = running.get(tenant.name);
        return current && !restartAll && sameConfigValue(current.config, tenant) ? current : new Tenant(tenant, config, this.#logger);
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      this.#global.configLoaded(false);
      this.#logger.error({ source: previous.source, error: error.message }, 'configuration reload failed; keeping the running configuration');
      return { ok: false, error: error.message };
    }

    const kept = new Set(next.filter((tenant) => running.get(tenant.name) === tenant));
    const started = next.filter((tenant) => !kept.has(tenant));
    const stopped = this.#tenants.filter((tenant) => !kept.has(tenant));
    await this.#scheduler.stop(stopped.flatMap((tenant) => tenant.tasks.map((task) => task.name)));
    for (const tenant of stopped) {
      tenant.stop();
      this.#history!.detach(tenant);
    }
    const names = new Set(next.map((tenant) => tenant.name));
    for (const tenant of stopped) if (!names.has(tenant.name)) this.#exposition.remove(tenant.name);
    this.#tenants = next;
    this.#config = config;
    await this.#startTenants(started);
    this.#applyLogging(config);
    this.#shardInfo(config.shard ?? unsharded(config));
    if (!sameConfigValue(previous.otlp, config.otlp)) {
      await this.#otlp?.stop();
      this.#otlp = undefined;
      await this.#startOtlp();
    }
    if (config.listen !== previous.listen) {
      this.#logger.warn({ listen: previous.listen, configured: config.listen }, 'the listen address changed; it takes effect at the next restart');
    }
    if (!sameConfigValue(previous.storage, config.storage)) {
      this.#logger.warn({ configured: config.storage.path }, 'storage settings changed; they take effect at the next restart');
    }
    this.#global.configLoaded(true);
    this.#logger.info({
      source: config.source,
      added: started.filter((tenant) => !running.has(tenant.name)).map((tenant) => tenant.name),
      changed: started.filter((tenant) => running.has(tenant.name)).map((tenant) => tenant.name),
      removed: stopped.filter((tenant) => !names.has(tenant.name)).map((tenant) => tenant.name),
      unchanged: kept.size,
    }, 'configuration reloaded');
    return { ok: true };
  }

  async stop(): Promise<void> {
    clearInterval(this.#readyCheck);
    const closed = this.#server ? new Promise<void>((resolve) => this.#server!.close(() => resolve())) : Promise.resolve();
    this.#server?.closeIdleConnections();
    await this.#scheduler.stop();
    for (const tenant of this.#tenants) tenant.stop();
    // The last counters and read positions, written once nothing refreshes any more.
    await this.#history?.close();
    // A last export of the final values, bounded by the OTLP timeout.
    await this.#otlp?.stop();
    const timer = setTimeout(() => this.#server?.closeAllConnections(), 5_000).unref();
    await closed;
    clearTimeout(timer);
  }

  /**
   * Every tenant's saved state is asked of the store's thread at once, and the first tenant's refreshes start only
   * when all have answered: asked one by one while the tenants started before refreshed, 1000 tenants took 9–11 s to
   * listen (past the bench's 15 s on a busy machine; the Kubernetes manifests' liveness probe allows 30 s).
   */
  async #startTenants(tenants: readonly Tenant[]): Promise<void> {
    const exposed = await Promise.all(tenants.map((tenant) => this.#history!.attach(tenant)));
    tenants.forEach((tenant, index) => {
      this.#exposition.add(exposed[index]!);
      this.#scheduler.start(tenant.tasks, { initialDelayMs: index * STAGGER_MS, group: tenant.name });
    });
  }

  #applyLogging(config: Config): void {
    this.#logging.configure({ level: config.logLevel, format: config.logFormat });
    this.#logging.addSecrets(secretValues(config));
  }

  async #startOtlp(): Promise<void> {
    if (!this.#config.otlp) return;
    // Loaded only when configured: the OpenTelemetry SDK is most of the exporter's dependencies by weight.
    const [{ startOtlpPush }, { gather }] = await Promise.all([import('./otlp/push.js'), import('./otlp/gather.js')]);
    this.#otlp = startOtlpPush(this.#config.otlp, {
      gather: () => gather(this.#tenants.map((tenant) => this.#history?.exposed(tenant) ?? tenant), this.#global.registry), exportsTotal: this.#global.otlpExports, logger: this.#logger, serviceVersion: VERSION,
    });
  }
}

/**
 * The new configuration with each unchanged top-level setting's object taken from the running one, so what is keyed
 * by such an object stays shared: the connection pool of a proxy setting (src/auth/outbound.ts, dispatcherFor) is
 * one for restarted and running tenants alike.
 */
function keepUnchangedSettings(previous: Config, next: Config): Config {
  const kept: Record<string, unknown> = { ...next };
  for (const key of Object.keys(next)) if (sameConfigValue(previous[key as keyof Config], next[key as keyof Config])) kept[key] = previous[key as keyof Config];
  return kept as unknown as Config;
}

/** Whether a setting every tenant reads (refresh intervals, Graph client, budgets, ...) differs. */
function tenantSettingsChanged(previous: Config, next: Config): boolean {
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)].filter((key) => !NOT_TENANT_SETTINGS.has(key)));
  return [...keys].some((key) => !sameConfigValue(previous[key as keyof Config], next[key as keyof Config]));
}
