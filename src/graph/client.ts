import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Answer, Outbound } from '../auth/outbound.js';
import type { RequestBudget } from './budget.js';
import {
  ExporterError, GraphError, InvalidResponseError, NetworkError, PagingError, RedirectError, TimeoutError, TooLargeError, excerpt, parseODataError,
} from '../model/errors.js';

/** Receives one call per HTTP attempt, so metrics see retries too. */
export interface GraphObserver {
  onResponse(endpoint: string, code: string, seconds: number): void;
  onThrottled(endpoint: string): void;
}

export interface GraphClientOptions {
  /** Graph root of the tenant's cloud, e.g. https://graph.microsoft.com */
  graphEndpoint: string;
  /**
   * A token (src/auth/tokenProvider.ts). `signal`: the caller stops waiting. `rejected`: Graph refused this token,
   * get a new one rather than the cached one.
   */
  getToken(signal?: AbortSignal, rejected?: string): Promise<string>;
  /** HTTP with the timeout, size limit, proxy and redirect refusal (src/auth/outbound.ts). */
  outbound: Outbound;
  observer: GraphObserver;
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
  /**
   * Waits for a free slot behind every other request: the Monitoring API asks tens of functions a refresh, and when
   * Graph stops answering each holds its slot until the timeout, so service health queued behind them would not even
   * be asked (and not report the outage) for as long as they take.
   */
  background?: boolean;
}

type Outcome =
  | { kind: 'done'; bytes: Buffer; token: string }
  | { kind: 'retry'; error: ExporterError; retryAfterMs?: number }
  /** 401 InvalidAuthenticationToken: the token was revoked or is otherwise no longer good; try once with a new one. */
  | { kind: 'renew'; error: GraphError; token: string };

/** A collection read again: unchanged since the read whose digest was given, or its items and their digest. */
export type CollectionRead = { changed: false } | { changed: true; items: unknown[]; digest: string };

/** Pages remembered per client (one tenant): every page of its collections, with room to spare. */
const REMEMBERED_PAGES = 64;

const RETRYABLE_STATUSES = new Set([429, 503, 504]);
const BASE_BACKOFF_MS = 1_000;

/**
 * The one Microsoft Graph client: token, budget, concurrency, retry with backoff, paging, typed errors. What every
 * request refuses (redirects, oversized bodies, no answer within the timeout) is src/auth/outbound.ts.
 */
export class GraphClient {
  readonly #options: GraphClientOptions;
  readonly #origin: string;
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #waitingBackground: Array<() => void> = [];
  /** Per page URL read recently (least recently read first): the digest of its text and the nextLink in it. */
  readonly #pages = new Map<string, { digest: string; next: string | undefined }>();

  constructor(options: GraphClientOptions) {
    this.#options = options;
    this.#origin = new URL(options.graphEndpoint).origin;
  }

  /** GETs a collection and follows `@odata.nextLink` to the end, refusing loops and more than `maxPages` pages. */
  async getCollection(path: string, options: RequestOptions): Promise<unknown[]> {
    return this.#itemsOf(await this.#readPages(path, options), options.endpoint);
  }

  /**
   * As getCollection, but when every page answers exactly what it answered for the read with digest `since` (the
   * message center changes a few times a day, a fleet refreshes every minute), nothing is parsed: the caller keeps
   * what it made of that read. A page seen before is not even parsed to find the next one: its nextLink is remembered.
   */
  async readCollection(path: string, options: RequestOptions, since: string | undefined): Promise<CollectionRead> {
    const pages = await this.#readPages(path, options);
    const digest = createHash('sha256').update(pages.map((page) => page.digest).join()).digest('base64');
    return digest === since ? { changed: false } : { changed: true, items: this.#itemsOf(pages, options.endpoint), digest };
  }

  async #readPages(path: string, options: RequestOptions): Promise<Page[]> {
    const pages: Page[] = [];
    const visited = new Set<string>();
    let url: string | undefined = this.#url(path, options.select);
    for (let page = 1; url !== undefined; page++) {
      if (page > this.#options.maxPages) {
        throw new PagingError(`${options.endpoint}: more than ${this.#options.maxPages} pages (graph.maxPages); stopped paging`);
      }
      visited.add(url);
      const { bytes, hide } = await this.#get(url, options, { Prefer: `odata.maxpagesize=${this.#options.pageSize}` });
      const digest = createHash('sha256').update(bytes).digest('base64');
      const known = this.#pages.get(url);
      this.#pages.delete(url);
      const read: Page = known?.digest === digest ? { bytes, hide, digest, next: known.next } : parsePage({ bytes, hide, digest }, page, options.endpoint);
      this.#pages.set(url, { digest, next: read.next });
      if (this.#pages.size > REMEMBERED_PAGES) this.#pages.delete(this.#pages.keys().next().value!);
      pages.push(read);
      const next = read.next;
      if (next === undefined) break;
      if (visited.has(next)) throw new PagingError(`${options.endpoint}: @odata.nextLink points back to a page already read (${page} pages); stopped paging`);
      if (new URL(next, this.#origin).origin !== this.#origin) {
        // The token must never be sent to another host, whatever a response says.
        throw new PagingError(`${options.endpoint}: @odata.nextLink leaves ${this.#origin}; refusing to follow it`);
      }
      url = next;
    }
    return pages;
  }

  #itemsOf(pages: Page[], endpoint: string): unknown[] {
    return pages.flatMap((page, i) => (page.items ?? parsePage(page, i + 1, endpoint).items)!);
  }

  /** GETs one document, with retries: a 2xx answer's bytes (and the token, which no message may show), else the typed error of the last attempt. */
  async #get(url: string, options: RequestOptions, headers: Record<string, string>): Promise<{ bytes: Buffer; hide: string[] }> {
    let rejected: string | undefined;
    let renewed = false;
    for (let retries = 0; ;) {
      const outcome = await this.#withSlot(() => this.#attempt(url, options, headers, rejected), options.background);
      rejected = undefined;
      if (outcome.kind === 'done') return { bytes: outcome.bytes, hide: [outcome.token] };
      if (outcome.kind === 'renew') {
        if (renewed) throw outcome.error;
        renewed = true;
        rejected = outcome.token;
        continue;
      }
      const delayMs = outcome.retryAfterMs ?? this.#backoff(retries);
      if (retries >= this.#options.maxRetries || delayMs > this.#options.maxBackoffMs) throw outcome.error;
      retries++;
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }

  async #attempt(url: string, options: RequestOptions, headers: Record<string, string>, rejected?: string): Promise<Outcome> {
    const { endpoint, signal } = options;
    const { observer } = this.#options;
    const token = await this.#options.getToken(signal, rejected);
    // Taken once there is a token: a failed sign-in sends nothing to Graph, so it must not spend Graph's budget.
    options.budget?.take(`GET ${endpoint}`);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1_000;
    let answer: Answer;
    try {
      answer = await this.#options.outbound.request(url, {
        what: endpoint,
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', ...headers },
        signal,
        hide: [token],
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof RedirectError || error instanceof TooLargeError) {
        observer.onResponse(endpoint, String(error.status), seconds());
        throw error;
      }
      if (error instanceof TimeoutError || error instanceof NetworkError) {
        observer.onResponse(endpoint, error.reason, seconds());
        return { kind: 'retry', error };
      }
      throw error;
    }
    observer.onResponse(endpoint, String(answer.status), seconds());
    if (answer.status >= 200 && answer.status < 300) return { kind: 'done', bytes: answer.bytes, token };
    const odata = parseODataError(answer.body, [token]);
    const error = new GraphError(answer.status, odata?.code ?? 'unknown', odata?.message ?? answer.statusText, endpoint, odata?.requestId);
    if (answer.status === 401 && odata?.code.toLowerCase() === 'invalidauthenticationtoken') return { kind: 'renew', error, token };
    if (answer.status === 429) observer.onThrottled(endpoint);
    if (!RETRYABLE_STATUSES.has(answer.status)) throw error;
    return { kind: 'retry', error, retryAfterMs: parseRetryAfter(answer.headers.get('retry-after')) };
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

  async #withSlot<T>(task: () => Promise<T>, background = false): Promise<T> {
    const queue = background ? this.#waitingBackground : this.#waiting;
    const ahead = this.#waiting.length + (background ? this.#waitingBackground.length : 0);
    if (this.#active >= this.#options.concurrency || ahead > 0) await new Promise<void>((resolve) => queue.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      (this.#waiting.shift() ?? this.#waitingBackground.shift())?.();
    }
  }
}

const DAY = '(Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
/** HTTP-date, RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept. */
const HTTP_DATE = [
  new RegExp(`^${DAY}, \\d{2} ${MONTH} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT$`),
  new RegExp(`^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \\d{2}-${MONTH}-\\d{2} \\d{2}:\\d{2}:\\d{2} GMT$`),
];
const ASCTIME = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d \\d{2}:\\d{2}:\\d{2} \\d{4}$`);

/**
 * Retry-After (RFC 9110 §10.2.3) as a delay in ms: delta-seconds (Graph sends fractions such as 2.128:
 * https://learn.microsoft.com/graph/throttling) or an HTTP-date. Anything else, `-5` say (which Date.parse reads as
 * May 2001), is ignored, so the caller falls back to its backoff.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1_000);
  const date = HTTP_DATE.some((format) => format.test(value)) ? Date.parse(value) : ASCTIME.test(value) ? Date.parse(`${value} GMT`) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** One page of a collection as read: its bytes, the digest of them, its nextLink, and its items once parsed. */
interface Page {
  bytes: Buffer;
  /** What no error message may show (the token the page was read with). */
  hide: string[];
  digest: string;
  next: string | undefined;
  items?: unknown[];
}

/** A 2xx body that is not JSON is the server's fault, never retried; the message shows where it goes wrong. */
function parseJson(bytes: Buffer, endpoint: string, hide: string[]): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidResponseError(`${endpoint}: response is not valid JSON (${text.length} bytes, starts ${JSON.stringify(excerpt(text, hide).slice(0, 40))})`);
  }
}

function parsePage({ bytes, hide, digest }: Pick<Page, 'bytes' | 'hide' | 'digest'>, page: number, endpoint: string): Page {
  const body = parseJson(bytes, endpoint, hide);
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { value?: unknown }).value)) {
    throw new InvalidResponseError(`${endpoint}: page ${page} has no "value" array`);
  }
  const next = (body as Record<string, unknown>)['@odata.nextLink'];
  if (next !== undefined && next !== null && typeof next !== 'string') throw new InvalidResponseError(`${endpoint}: @odata.nextLink is not a string`);
  return { bytes, hide, digest, next: next ?? undefined, items: (body as { value: unknown[] }).value };
}
