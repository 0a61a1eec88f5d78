import { Agent, EnvHttpProxyAgent, fetch, type Dispatcher, type Response } from 'undici';
import type { Secret } from '../config/secret.js';
import { NetworkError, RedirectError, TimeoutError, TooLargeError, excerpt } from '../model/errors.js';

/** `proxy:` of the config, or HTTPS_PROXY / HTTP_PROXY / NO_PROXY resolved into it by src/config/load.ts. */
export interface ProxySettings {
  /** May carry credentials (http://user:password@proxy:3128), hence a Secret. */
  url: Secret;
  /** Hosts reached directly, as NO_PROXY: `example.com` also matches its subdomains, `host:port` one port, `*` all. */
  noProxy: string[];
}

/**
 * The connection pool every request to Entra ID and Graph goes through: direct, or through an HTTP CONNECT proxy
 * except for the `noProxy` hosts (undici's EnvHttpProxyAgent, given the settings explicitly so it reads no
 * environment itself: https://github.com/nodejs/undici/blob/main/docs/docs/api/EnvHttpProxyAgent.md). One pool per
 * proxy setting, shared by every tenant as Node's global dispatcher is: hundreds of tenants talk to the same two
 * hosts, and a pool each would cost a TLS handshake per tenant and refresh.
 */
export function dispatcherFor(proxy?: ProxySettings): Dispatcher {
  if (!proxy) return (direct ??= new Agent());
  let dispatcher = proxied.get(proxy);
  if (!dispatcher) {
    const url = proxy.url.reveal();
    dispatcher = new EnvHttpProxyAgent({ httpProxy: url, httpsProxy: url, noProxy: proxy.noProxy.join(',') });
    proxied.set(proxy, dispatcher);
  }
  return dispatcher;
}

let direct: Dispatcher | undefined;
/** Keyed by the settings object of one loaded config, which all its tenants share. */
const proxied = new WeakMap<ProxySettings, Dispatcher>();

export interface OutboundOptions {
  dispatcher: Dispatcher;
  /** Per request, from sending it until its body is read. */
  timeoutMs: number;
  /** The largest body accepted, counted after decompression (a gzip bomb is refused while it inflates). */
  maxResponseBytes: number;
}

export interface OutboundRequest {
  /** What is asked, first in every error message: "issues", "token request for tenant contoso". */
  what: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Values sent with the request (the token, the client secret) that must never be quoted back from an answer. */
  hide?: readonly string[];
}

export interface Answer {
  status: number;
  /** The reason phrase, bounded (a server chooses it). */
  statusText: string;
  headers: Headers;
  /** The body as received (decompressed); read `body` for its text. */
  bytes: Buffer;
  /** The body as UTF-8 text, decoded when first read. */
  readonly body: string;
}

/**
 * An answer keeps its bytes and decodes them only when asked: a fleet re-reads large collections every minute, and
 * the text of one that has not changed is never needed (src/graph/client.ts compares digests of the bytes). Bytes
 * live outside the JavaScript heap and leave with the answer; a string that large would wait for a full collection.
 */
function answerOf(status: number, statusText: string, headers: Headers, bytes: Buffer): Answer {
  let text: string | undefined;
  return {
    status, statusText, headers, bytes,
    get body() {
      return (text ??= bytes.toString('utf8'));
    },
  };
}

/**
 * HTTP for the exporter's two partners, Entra ID (msal's network client, EntraNetworkClient in src/auth/tokenProvider.ts) and Graph
 * (src/graph/client.ts), with the refusals both need: a redirect is an error, never followed (fetch follows them
 * unless told not to, and the token must not go where a response says); a body larger than the limit is not read
 * further; every request ends within the timeout or when the caller's signal aborts. Failures without an answer
 * are typed (`TimeoutError`, `NetworkError`) and say which host and why (`getaddrinfo ENOTFOUND
 * login.microsoftonline.com`), so they are never mistaken for a credential problem.
 */
export class Outbound {
  constructor(readonly options: OutboundOptions) {}

  /** Throws TimeoutError, NetworkError, RedirectError or TooLargeError; the caller's abort reason when it aborted. */
  async request(url: string, request: OutboundRequest): Promise<Answer> {
    const { origin } = new URL(url);
    const { what, signal } = request;
    const timeout = deadline(this.options.timeoutMs, signal);
    try {
      const response = await fetch(url, {
        method: request.method ?? 'GET',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: timeout.signal,
        dispatcher: this.options.dispatcher,
      });
      const statusText = excerpt(response.statusText, request.hide);
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel().catch(() => undefined);
        throw new RedirectError(
          `${what}: ${origin} answered ${response.status} ${statusText} redirecting to ${targetOf(response.headers.get('location'), url)}; redirects are never followed`,
          response.status,
        );
      }
      const bytes = await readBounded(response, this.options.maxResponseBytes, `${what}: the answer of ${origin}`);
      return answerOf(response.status, statusText, response.headers, bytes);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (error instanceof RedirectError || error instanceof TooLargeError) throw error;
      if (timeout.expired()) throw new TimeoutError(`${what}: no answer from ${origin} within ${this.options.timeoutMs} ms`, { cause: error });
      throw new NetworkError(`${what}: cannot reach ${origin}: ${describeFailure(error)}`, { cause: error });
    } finally {
      timeout.release();
    }
  }
}

/** Reads the (decompressed) body, refusing it once it exceeds `maxBytes`; cancelling frees the connection. */
async function readBounded(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const tooLarge = () => new TooLargeError(`${what} exceeds ${maxBytes} bytes (graph.maxResponseBytes); refused`, response.status);
  const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
  // Content-Length counts the bytes on the wire: it can refuse a plain body early, never admit an encoded one.
  if (!encoded && Number(response.headers.get('content-length')) > maxBytes) {
    await response.body.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const parts: Uint8Array[] = [];
  let bytes = 0;
  // Leaving the loop by a throw cancels the stream (and with it undici's decompression).
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    if (bytes > maxBytes) throw tooLarge();
    parts.push(chunk);
  }
  return Buffer.concat(parts, bytes);
}

/** Where a redirect points, as an origin only: its path and query may carry anything. */
function targetOf(location: string | null, base: string): string {
  if (!location) return 'nowhere (no Location header)';
  try {
    return new URL(location, base).origin;
  } catch {
    return 'an invalid Location';
  }
}

/**
 * The cause of a fetch failure as Node and undici name it: `getaddrinfo ENOTFOUND login.microsoftonline.com`,
 * `connect ECONNREFUSED 127.0.0.1:1`, `self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)`,
 * `Proxy response (407) !== 200 when HTTP Tunneling`. fetch throws `TypeError: fetch failed` with the real error at
 * the end of its cause chain (behind "Request was cancelled." for a proxy refusal); Node's happy-eyeballs connect
 * (autoSelectFamily) reports one error per address in an AggregateError.
 */
export function describeFailure(error: unknown): string {
  let cause = error as Error & { code?: string; errors?: Error[] };
  while (cause.cause instanceof Error) cause = cause.cause as typeof cause;
  const parts = cause instanceof AggregateError && cause.errors?.length ? cause.errors : [cause];
  return parts
    .map((part: Error & { code?: string }) => {
      const message = part.message || part.name;
      return part.code && !message.includes(part.code) ? `${message} (${part.code})` : message;
    })
    .join(', ');
}

/**
 * A signal that aborts after `ms` or when `parent` aborts. Unlike `AbortSignal.any([AbortSignal.timeout(ms), parent])`
 * it leaves nothing behind on the long-lived parent once released: on Node 20 every AbortSignal.any call keeps
 * ~58 bytes alive for the parent's lifetime (https://github.com/nodejs/node/issues/55351).
 */
export function deadline(ms: number, parent?: AbortSignal): { signal: AbortSignal; expired(): boolean; release(): void } {
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
