import { Outbound, dispatcherFor } from '../auth/outbound.js';
import { TOKEN_REQUEST_RESULTS, TokenProvider } from '../auth/tokenProvider.js';
import type { SampleWriter } from '../collectors/types.js';
import type { Config, TenantConfig } from '../config/load.js';
import { RequestBudget } from '../graph/budget.js';
import { GraphClient } from '../graph/client.js';
import type { Logger } from '../logger.js';
import { METRICS } from '../model/metrics.js';
import type { LiveMetrics } from './liveMetrics.js';

export type Budgets = { serviceCommunications: RequestBudget; serviceActivity: RequestBudget };

/**
 * How one tenant talks to Microsoft: the connection pool (direct or through the proxy; shared), its token provider,
 * Graph client and request budgets, with their self-metrics (requests, durations, throttling and token requests into
 * `live`; the token and credential state written by `write`). `version` changes whenever what `write` writes may
 * have changed. msal and the Graph client share one Outbound, so both use the same proxy, timeout and refusals.
 */
export class Connection {
  readonly graph: GraphClient;
  readonly budgets: Budgets;
  #tokenError?: string;
  #tokenExpiry?: Date;
  #version = 0;

  constructor(private readonly tenant: TenantConfig, config: Config, live: LiveMetrics, logger: Logger) {
    const outbound = new Outbound({
      dispatcher: dispatcherFor(config.proxy),
      timeoutMs: config.graph.timeout,
      maxResponseBytes: config.graph.maxResponseBytes,
    });
    const tokens = new TokenProvider(tenant, {
      onTokenRequest: (result, code) => {
        live.count(METRICS.tokenRequests, { result });
        // Only Entra ID's answer says something about the credential; no answer leaves its last verdict standing.
        if (result === 'error') return;
        this.#tokenError = result === 'failure' ? code : undefined;
        this.#version++;
      },
      onTokenExpiry: (expiresOn) => {
        this.#tokenError = undefined;
        this.#tokenExpiry = expiresOn;
        this.#version++;
      },
    }, logger, outbound);
    for (const result of TOKEN_REQUEST_RESULTS) live.count(METRICS.tokenRequests, { result }, 0);
    live.count(METRICS.graphThrottled, {}, 0);
    this.budgets = {
      serviceCommunications: new RequestBudget([
        { name: '1m', limit: config.requestBudget.perMinute, windowMs: 60_000 },
        { name: '1h', limit: config.requestBudget.perHour, windowMs: 3_600_000 },
      ]),
      serviceActivity: new RequestBudget([{ name: '1m', limit: config.serviceActivity.requestsPerMinute, windowMs: 60_000 }]),
    };
    this.graph = new GraphClient({
      graphEndpoint: tenant.graphEndpoint,
      getToken: (signal, rejected) => tokens.getToken(signal, rejected),
      outbound,
      maxRetries: config.graph.maxRetries,
      maxBackoffMs: config.graph.maxBackoff,
      maxPages: config.graph.maxPages,
      pageSize: config.graph.pageSize,
      concurrency: config.graph.concurrency,
      observer: {
        onResponse: (endpoint, code, seconds) => {
          live.count(METRICS.graphRequests, { endpoint, code });
          live.observe(METRICS.graphRequestDuration, { endpoint }, seconds);
        },
        onThrottled: () => live.count(METRICS.graphThrottled, {}),
      },
    });
  }

  get version(): number {
    return this.#version;
  }

  /** Token error, token expiry and credential expiry: they change with token requests only. */
  write(out: SampleWriter): void {
    if (this.#tokenError) out.add(METRICS.tokenError, { error_code: this.#tokenError }, 1);
    if (this.#tokenExpiry) out.add(METRICS.tokenExpiry, {}, this.#tokenExpiry.getTime() / 1_000);
    const credential = this.tenant.credential;
    if (credential.kind === 'certificate') out.add(METRICS.credentialExpiry, { kind: 'certificate' }, credential.notAfter.getTime() / 1_000);
    else if (credential.kind === 'secret' && credential.expiresAt) out.add(METRICS.credentialExpiry, { kind: 'secret' }, credential.expiresAt.getTime() / 1_000);
  }

  /** Changes whenever what writeBudgets writes changes: with each request, and as requests leave their windows. */
  get budgetsVersion(): number {
    return this.budgets.serviceCommunications.version + this.budgets.serviceActivity.version;
  }

  /** When the budgets next grow by themselves (a request leaves a window), if any request is still in one. */
  budgetsChangeAt(): number | undefined {
    const times = Object.values(this.budgets).map((budget) => budget.nextChangeAt()).filter((at) => at !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** What is left of the request budgets. */
  writeBudgets(out: SampleWriter): void {
    for (const [api, budget] of Object.entries(this.budgets)) {
      for (const { window, remaining } of budget.remaining()) out.add(METRICS.requestBudgetRemaining, { api, window }, remaining);
    }
  }
}
