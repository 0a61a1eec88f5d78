import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestBudget } from './budget.js';
import {
  ExporterError, GraphError, InvalidResponseError, NetworkError, PagingError, TimeoutError, parseODataError,
} from '../model/errors.js';

/** Receives one call per HTTP attempt, so metrics see retries too. */
export interface GraphObserver {
  onResponse(endpoint: string, code: string, seconds: number): void;
  onThrottled(endpoint: string): void;
}

export interface GraphClientOptions {
  /** Graph root of the tenant's cloud, e.g. https://graph.microsoft.com */
  graphEndpoint: string;
  getToken(): Promise<string>;
  observer: GraphObserver;
  timeoutMs: number;
  maxRetries: number;
  maxBackoffMs: number;
  maxPages: number;
  pageSize: number;
  concurrency: number;
  /** Injected for tests: randomness of the backoff jitter. */
  random?: () => number;
}

export interface RequestOptions {
  /** Bounded label value naming the API, e.g. "issues". */
  endpoint: string;
  budget?: RequestBudget;
  /** Properties to ask for (`$select`), so we do not download what we do not export. */
  select?: readonly string[];
  signal?: AbortSignal;
}

const RETRYABLE_STATUSES = new Set([429, 503, 504]);
const BASE_BACKOFF_MS = 1_000;

/** The one Microsoft Graph client: token, budget, concurrency, timeout, retry with backoff, paging, typed errors. */
export class GraphClient {
  readonly #options: GraphClientOptions;
  readonly #origin: string;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: GraphClientOptions) {
    this.#options = options;
    this.#origin = new URL(options.graphEndpoint).origin;
  }

  /** GETs a collection and follows `@odata.nextLink` to the end, refusing loops and more than `maxPages` pages. */
  async getCollection(path: string, options: RequestOptions): Promise<unknown[]> {
    const items: unknown[] = [];
    const visited = new Set<string>();
    let url: string | undefined = this.#url(path, options.select);
    for (let page = 1; url !== undefined; page++) {
      if (page > this.#options.maxPages) {
        throw new PagingError(`${options.endpoint}: more than ${this.#options.maxPages} pages (graph.maxPages); stopped paging`);
      }
      visited.add(url);
      const body = await this.getJson(url, options, { Prefer: `odata.maxpagesize=${this.#options.pageSize}` });
      if (typeof body !== 'object' || body === null || !Array.isArray((body as { value?: unknown }).value)) {
        throw new InvalidResponseError(`${options.endpoint}: page ${page} has no "value" array`);
      }
      items.push(...(body as { value: unknown[] }).value);
      const next = (body as Record<string, unknown>)['@odata.nextLink'];
      if (next === undefined || next === null) break;
      if (typeof next !== 'string') throw new InvalidResponseError(`${options.endpoint}: @odata.nextLink is not a string`);
      if (visited.has(next)) throw new PagingError(`${options.endpoint}: @odata.nextLink points back to a page already read (${page} pages); stopped paging`);
      if (new URL(next, this.#origin).origin !== this.#origin) {
        // The token must never be sent to another host, whatever a response says.
        throw new PagingError(`${options.endpoint}: @odata.nextLink leaves ${this.#origin}; refusing to follow it`);
      }
      url = next;
    }
    return items;
  }

  /** GETs one JSON document (path relative to the Graph root, or an absolute URL on it), with retries. */
  async getJson(pathOrUrl: string, options: RequestOptions, headers: Record<string, string> = {}): Promise<unknown> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.#url(pathOrUrl, options.select);
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#withSlot(() => this.#attempt(url, options, headers));
      if (outcome.kind === 'done') return outcome.body;
      const retriesLeft = attempt < this.#options.maxRetries;
      const delayMs = outcome.retryAfterMs ?? this.#backoff(attempt);
      if (!retriesLeft || delayMs > this.#options.maxBackoffMs) throw outcome.error;
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }

  async #attempt(url: string, options: RequestOptions, headers: Record<string, string>): Promise<
    { kind: 'done'; body: unknown } | { kind: 'retry'; error: ExporterError; retryAfterMs?: number }
  > {
    const { endpoint } = options;
    const { observer } = this.#options;
    options.budget?.take(`GET ${endpoint}`);
    const token = await this.#options.getToken();
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1_000;
    const timeout = deadline(this.#options.timeoutMs, options.signal);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...headers },
        signal: timeout.signal,
      });
      text = await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const timedOut = timeout.expired();
      observer.onResponse(endpoint, timedOut ? 'timeout' : 'network', seconds());
      const wrapped = timedOut
        ? new TimeoutError(`${endpoint}: no answer within ${this.#options.timeoutMs} ms`, { cause: error })
        : new NetworkError(`${endpoint}: ${describeNetworkError(error)}`, { cause: error });
      return { kind: 'retry', error: wrapped };
    } finally {
      timeout.release();
    }
    observer.onResponse(endpoint, String(response.status), seconds());
    if (response.ok) {
      try {
        return { kind: 'done', body: JSON.parse(text) };
      } catch {
        throw new InvalidResponseError(`${endpoint}: response is not valid JSON (${text.length} bytes, starts ${JSON.stringify(text.slice(0, 40))})`);
      }
    }
    const odata = parseODataError(text);
    const error = new GraphError(response.status, odata?.code ?? 'unknown', odata?.message ?? response.statusText, endpoint, odata?.requestId);
    if (response.status === 429) observer.onThrottled(endpoint);
    if (!RETRYABLE_STATUSES.has(response.status)) throw error;
    return { kind: 'retry', error, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
  }

  /** Capped exponential backoff with jitter (50-100% of the step), so many tenants do not retry in lockstep. */
  #backoff(attempt: number): number {
    const step = Math.min(this.#options.maxBackoffMs, BASE_BACKOFF_MS * 2 ** attempt);
    return Math.round(step * (0.5 + (this.#options.random ?? Math.random)() / 2));
  }

  #url(path: string, select?: readonly string[]): string {
    const url = new URL(`${this.#options.graphEndpoint}${path}`);
    if (select?.length) url.searchParams.set('$select', select.join(','));
    return url.toString().replace(/%24/g, '$').replace(/%2C/g, ',');
  }

  async #withSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#options.concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** Retry-After is seconds (Graph sends fractions such as 2.128) or an HTTP date. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1_000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A signal that aborts after `ms` or when `parent` aborts. Unlike `AbortSignal.any([AbortSignal.timeout(ms), parent])`
 * it leaves nothing behind on the long-lived parent once released: on Node 20 every AbortSignal.any call keeps
 * ~58 bytes alive for the parent's lifetime (https://github.com/nodejs/node/issues/55351).
 */
function deadline(ms: number, parent?: AbortSignal): { signal: AbortSignal; expired(): boolean; release(): void } {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError'));
  }, ms);
  const onAbort = () => controller.abort(parent!.reason);
  if (parent?.aborted) onAbort();
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    expired: () => expired,
    release() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onAbort);
    },
  };
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
