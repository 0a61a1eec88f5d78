import { AsyncLocalStorage } from 'node:async_hooks';
import {
  ConfidentialClientApplication, LogLevel, type Configuration, type INetworkModule, type NetworkRequestOptions, type NetworkResponse,
} from '@azure/msal-node';
import type { TenantConfig } from '../config/load.js';
import { ExporterError, InvalidResponseError, TokenError, excerpt } from '../model/errors.js';
import type { Logger } from '../logger.js';
import type { Outbound } from './outbound.js';

export interface TokenObserver {
  /**
   * One call per acquisition that went to Entra ID (cache hits are not requests): `failure` when Entra ID refused
   * (with its AADSTS code), `error` when there was no usable answer (network, timeout, redirect, oversized or
   * unparsable response): that says nothing about the credential.
   */
  onTokenRequest(result: TokenRequestResult, errorCode?: string): void;
  onTokenExpiry(expiresOn: Date): void;
}

export const TOKEN_REQUEST_RESULTS = ['success', 'failure', 'error'] as const;
export type TokenRequestResult = (typeof TOKEN_REQUEST_RESULTS)[number];

/** One acquisition, as msal's network calls see it (they run inside `attempts.run`). */
interface Attempt {
  signal: AbortSignal;
  /** The first failure of our own network client: msal rewraps (or, for discovery, swallows) what it throws. */
  failure?: ExporterError;
}

interface Acquisition {
  promise: Promise<string>;
  controller: AbortController;
  /** Skips msal's cache: the cached token was rejected by Graph. */
  refresh: boolean;
  waiters: number;
  settled: boolean;
}

/**
 * App-only tokens for one tenant via msal-node's client-credentials flow. msal keeps the token in its in-memory
 * cache and only asks Entra ID again when it is close to expiry, so Graph calls do not each cost a token request.
 * msal's HTTP goes through our network client (`system.networkClient`, msal-node's INetworkModule), so it shares the
 * Graph client's proxy, timeout, size limit and redirect refusal, and an acquisition ends when the last caller
 * waiting for it gives up (shutdown aborts the refresh loops' signals).
 */
export class TokenProvider {
  readonly #app: ConfidentialClientApplication;
  readonly #scopes: string[];
  readonly #attempts = new AsyncLocalStorage<Attempt>();
  /** Never quoted back from an Entra ID answer. */
  readonly #hide: string[];
  #pending?: Acquisition;
  /** The token last handed out: only a rejection of that one asks Entra ID again. */
  #issued?: string;

  constructor(private readonly tenant: TenantConfig, private readonly observer: TokenObserver, logger: Logger, outbound: Outbound) {
    const auth: Configuration['auth'] = {
      clientId: tenant.clientId,
      authority: `${tenant.authorityHost}/${tenant.tenantId}`,
      // Listing the host skips msal's instance discovery against the public cloud, which a sovereign cloud or a
      // test authority cannot answer.
      knownAuthorities: [new URL(tenant.authorityHost).host],
    };
    if (tenant.credential.kind === 'secret') {
      auth.clientSecret = tenant.credential.secret.reveal();
      // As sent (form-encoded) and as configured.
      this.#hide = [auth.clientSecret, encodeURIComponent(auth.clientSecret)];
    } else {
      auth.clientCertificate = {
        thumbprintSha256: tenant.credential.thumbprintSha256,
        privateKey: tenant.credential.privateKey.reveal(),
        x5c: tenant.credential.certificatePem,
      };
      this.#hide = [];
    }
    this.#app = new ConfidentialClientApplication({
      auth,
      system: {
        networkClient: new EntraNetworkClient(outbound, `token request for tenant ${tenant.name}`, this.#attempts, this.#hide),
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (_level, message) => logger.debug({ tenant: tenant.name, msal: message }, 'msal'),
        },
      },
    });
    this.#scopes = [`${tenant.graphEndpoint}/.default`];
  }

  /**
   * A valid access token; concurrent callers share one acquisition. `rejected`: Graph refused this token (401
   * InvalidAuthenticationToken, e.g. revoked), so if it is still the current one msal's cache is skipped. `signal`:
   * this caller stops waiting; the acquisition is aborted once no caller waits for it.
   */
  getToken(signal?: AbortSignal, rejected?: string): Promise<string> {
    const refresh = rejected !== undefined && rejected === this.#issued;
    if (!this.#pending || (refresh && !this.#pending.refresh)) this.#pending = this.#start(refresh);
    return this.#wait(this.#pending, signal);
  }

  #start(refresh: boolean): Acquisition {
    const controller = new AbortController();
    const attempt: Attempt = { signal: controller.signal };
    const acquisition: Acquisition = { controller, refresh, waiters: 0, settled: false, promise: undefined as unknown as Promise<string> };
    acquisition.promise = this.#attempts.run(attempt, () => this.#acquire(attempt, refresh)).finally(() => {
      acquisition.settled = true;
      if (this.#pending === acquisition) this.#pending = undefined;
    });
    // A caller that gave up leaves the promise unobserved; its outcome is reported through the observer.
    acquisition.promise.catch(() => undefined);
    return acquisition;
  }

  #wait(acquisition: Acquisition, signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    acquisition.waiters++;
    if (!signal) return acquisition.promise;
    return new Promise<string>((resolve, reject) => {
      let waiting = true;
      const leave = () => {
        if (!waiting) return false;
        waiting = false;
        signal.removeEventListener('abort', onAbort);
        acquisition.waiters--;
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (acquisition.waiters === 0 && !acquisition.settled) acquisition.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      acquisition.promise.then(
        (token) => {
          if (leave()) resolve(token);
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }

  async #acquire(attempt: Attempt, refresh: boolean): Promise<string> {
    let result;
    try {
      result = await this.#app.acquireTokenByClientCredential({ scopes: this.#scopes, skipCache: refresh });
    } catch (error) {
      if (attempt.signal.aborted) throw attempt.signal.reason;
      if (attempt.failure) {
        // No usable answer from Entra ID: a network, proxy or server problem, not a verdict on the credential.
        this.observer.onTokenRequest('error');
        throw attempt.failure;
      }
      const code = aadstsCode(error);
      this.observer.onTokenRequest('failure', code);
      throw new TokenError(code, `token request for tenant ${this.tenant.name} failed: ${code}: ${this.#describe(error, code)}`, { cause: error });
    }
    if (!result?.accessToken) {
      this.observer.onTokenRequest('failure', 'no_token');
      throw new TokenError('no_token', `token request for tenant ${this.tenant.name} returned no access token`);
    }
    if (!result.fromCache) this.observer.onTokenRequest('success');
    if (result.expiresOn) this.observer.onTokenExpiry(result.expiresOn);
    this.#issued = result.accessToken;
    return result.accessToken;
  }

  /**
   * Entra ID's description, bounded (`excerpt`): msal writes "Error(s): 7000222 - Timestamp: … - Description:
   * AADSTS7000222: The provided client secret keys … are expired. …" (msal-common ResponseHandler.validateTokenResponse).
   */
  #describe(error: unknown, code: string): string {
    const message = (error as { errorMessage?: string }).errorMessage || (error as Error).message;
    const description = / - Description: ([\s\S]*)/.exec(message)?.[1] ?? message;
    return excerpt(description.startsWith(`${code}: `) ? description.slice(code.length + 2) : description, this.#hide);
  }
}

/**
 * msal-node's INetworkModule (node_modules/@azure/msal-common/src/network/INetworkModule.ts) over our Outbound.
 * msal passes no per-call context, so the acquisition's signal comes from AsyncLocalStorage; a failure is also kept
 * there, because msal turns any error of a network client into its own `network_error` (src/protocol/Token.ts,
 * sendPostRequest) or, for the OpenID discovery, into "endpoints could not be resolved" (src/authority/Authority.ts),
 * losing host and cause. Like msal's own HttpClient, the body is returned parsed whatever the status: msal reads
 * Entra ID's error from it.
 */
class EntraNetworkClient implements INetworkModule {
  constructor(
    private readonly outbound: Outbound,
    private readonly what: string,
    private readonly attempts: AsyncLocalStorage<Attempt>,
    private readonly hide: readonly string[],
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options);
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    const attempt = this.attempts.getStore();
    try {
      const answer = await this.outbound.request(url, {
        what: this.what, method, headers: options?.headers, body: method === 'POST' ? (options?.body ?? '') : undefined, signal: attempt?.signal, hide: this.hide,
      });
      let body: T;
      try {
        body = JSON.parse(answer.body) as T;
      } catch {
        throw new InvalidResponseError(`${this.what}: ${new URL(url).origin} answered ${answer.status} ${answer.statusText} with a body that is not JSON (${answer.body.length} characters)`);
      }
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, key) => (headers[key] = value));
      return { status: answer.status, headers, body };
    } catch (error) {
      if (attempt && error instanceof ExporterError) attempt.failure ??= error;
      throw error;
    }
  }
}

/** The AADSTS code of an msal error (e.g. AADSTS7000222 = expired secret), else msal's own error code. */
export function aadstsCode(error: unknown): string {
  const { errorNo, errorMessage, errorCode, message } = error as { errorNo?: string; errorMessage?: string; errorCode?: string; message?: string };
  if (errorNo && /^\d+$/.test(errorNo)) return `AADSTS${errorNo}`;
  const found = `${errorMessage ?? ''} ${message ?? ''}`.match(/AADSTS\d+/);
  // msal's errorCode is the `error` field of Entra ID's answer: quoted only when it looks like one (invalid_client).
  return found?.[0] ?? (errorCode && /^[A-Za-z0-9_.-]{1,64}$/.test(errorCode) ? errorCode : 'unknown');
}
