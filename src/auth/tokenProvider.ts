import { AsyncLocalStorage } from 'node:async_hooks';
import { readFile } from 'node:fs/promises';
import {
  ConfidentialClientApplication, LogLevel, ManagedIdentityApplication, type AuthenticationResult, type Configuration, type INetworkModule,
  type NetworkRequestOptions, type NetworkResponse,
} from '@azure/msal-node';
import type { Credential, TenantConfig } from '../config/load.js';
import { ExporterError, InvalidResponseError, TokenError, excerpt } from '../model/errors.js';
import type { Logger } from '../logger.js';
import { Outbound, dispatcherFor } from './outbound.js';

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
  /** What the network client sends through, and the name of the request in its errors. */
  outbound: Outbound;
  what: string;
  /** Values never quoted back from an answer (the client secret, the current client assertion); updated in place. */
  hide: readonly string[];
  /** The first failure of our own network client: msal rewraps (or, for discovery, swallows) what it throws. */
  failure?: ExporterError;
}

/**
 * msal passes its network client no context, and msal-node keeps the managed identity source, with the network
 * client of the first application that asked, in a static field (ManagedIdentityClient.identitySource in
 * node_modules/@azure/msal-node/src/client/ManagedIdentityClient.ts): so one network client serves every
 * application, and what it needs of the acquisition comes from here.
 */
const attempts = new AsyncLocalStorage<Attempt>();

/** Where an app-only token comes from: msal-node's confidential client (secret, certificate, federated assertion) or its managed identity application. */
type Acquire = (refresh: boolean) => Promise<AuthenticationResult | null>;

interface Acquisition {
  promise: Promise<string>;
  controller: AbortController;
  /** Skips msal's cache: the cached token was rejected by Graph. */
  refresh: boolean;
  waiters: number;
  settled: boolean;
}

/**
 * App-only tokens for one tenant via msal-node: the client-credentials flow (client secret, certificate, or a
 * federated client assertion read from a file) or the host's managed identity. msal keeps the token in its in-memory
 * cache and only asks Entra ID again when it is close to expiry, so Graph calls do not each cost a token request.
 * msal's HTTP goes through our network client (`system.networkClient`, msal-node's INetworkModule), so it shares the
 * Graph client's proxy, timeout, size limit and redirect refusal, and an acquisition ends when the last caller
 * waiting for it gives up (shutdown aborts the refresh loops' signals).
 */
export class TokenProvider {
  readonly #acquireToken: Acquire;
  readonly #outbound: Outbound;
  /** Never quoted back from an Entra ID answer. */
  readonly #hide: string[] = [];
  #pending?: Acquisition;
  /** The token last handed out: only a rejection of that one asks Entra ID again. */
  #issued?: string;
  /** Federated: the assertion last read from the file, sent again when the file cannot be read. */
  #assertion?: string;

  constructor(private readonly tenant: TenantConfig, private readonly observer: TokenObserver, private readonly logger: Logger, outbound: Outbound) {
    const system = {
      networkClient,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (_level: LogLevel, message: string) => logger.debug({ tenant: tenant.name, msal: message }, 'msal'),
      },
    };
    const credential = tenant.credential;
    const graphResource = tenant.graphEndpoint;
    if (credential.kind === 'managedIdentity') {
      // The identity endpoint is on the host (169.254.169.254, or localhost for App Service and Azure Arc): never
      // through the proxy. msal's own retries are off: they sleep for whatever Retry-After says, unaborted by shutdown
      // (node_modules/@azure/msal-node/src/retry/LinearRetryStrategy.ts); the next refresh retries.
      this.#outbound = new Outbound({ ...outbound.options, dispatcher: dispatcherFor(undefined) });
      // The secret msal reads from the environment and sends to App Service's endpoint (X-IDENTITY-HEADER).
      for (const name of ['IDENTITY_HEADER', 'MSI_SECRET']) if (process.env[name]) this.#hide.push(process.env[name]!);
      const app = new ManagedIdentityApplication({
        ...(credential.clientId !== undefined && { managedIdentityIdParams: { userAssignedClientId: credential.clientId } }),
        system: { ...system, disableInternalRetries: true },
      });
      this.#acquireToken = (refresh) => app.acquireToken({ resource: graphResource, forceRefresh: refresh });
      return;
    }
    this.#outbound = outbound;
    const auth: Configuration['auth'] = {
      clientId: tenant.clientId!,
      authority: `${tenant.authorityHost}/${tenant.tenantId}`,
      // Listing the host skips msal's instance discovery against the public cloud, which a sovereign cloud or a
      // test authority cannot answer.
      knownAuthorities: [new URL(tenant.authorityHost).host],
      ...this.#credentialOf(credential),
    };
    const app = new ConfidentialClientApplication({ auth, system });
    const scopes = [`${graphResource}/.default`];
    this.#acquireToken = (refresh) => app.acquireTokenByClientCredential({ scopes, skipCache: refresh });
  }

  #credentialOf(credential: Exclude<Credential, { kind: 'managedIdentity' }>): Partial<Configuration['auth']> {
    switch (credential.kind) {
      case 'secret': {
        const secret = credential.secret.reveal();
        // As sent (form-encoded) and as configured.
        this.#hide.push(secret, encodeURIComponent(secret));
        return { clientSecret: secret };
      }
      case 'certificate':
        return { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKey.reveal(), x5c: credential.certificatePem } };
      case 'federated':
        // msal calls this for every token request it sends (msal-common src/utils/ClientAssertionUtils.ts), so a
        // rotated file (a projected service account token is rewritten before it expires) is always read fresh.
        return { clientAssertion: () => this.#readAssertion(credential.assertionFile) };
    }
  }

  /** The file's JWT; when it cannot be read, the last one read (Entra ID judges whether it is still valid). */
  async #readAssertion(path: string): Promise<string> {
    let assertion: string;
    try {
      assertion = (await readFile(path, 'utf8')).trim();
      if (!assertion) throw Object.assign(new Error('empty'), { code: 'empty' });
    } catch (error) {
      const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.#assertion === undefined) {
        throw new TokenError('credential_unreadable', `token request for tenant ${this.tenant.name}: cannot read the client assertion file ${path}: ${cause}`);
      }
      this.logger.warn({ tenant: this.tenant.name, file: path, cause }, 'cannot read the client assertion file; sending the last assertion read');
      return this.#assertion;
    }
    if (assertion !== this.#assertion) {
      if (this.#assertion !== undefined) this.#hide.splice(this.#hide.indexOf(this.#assertion), 1);
      this.#hide.push(assertion);
      this.#assertion = assertion;
    }
    return assertion;
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
    const attempt: Attempt = { signal: controller.signal, outbound: this.#outbound, what: `token request for tenant ${this.tenant.name}`, hide: this.#hide };
    const acquisition: Acquisition = { controller, refresh, waiters: 0, settled: false, promise: undefined as unknown as Promise<string> };
    acquisition.promise = attempts.run(attempt, () => this.#acquire(attempt, refresh)).finally(() => {
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
      result = await this.#acquireToken(refresh);
    } catch (error) {
      if (attempt.signal.aborted) throw attempt.signal.reason;
      if (attempt.failure) {
        // No usable answer from Entra ID: a network, proxy or server problem, not a verdict on the credential.
        this.observer.onTokenRequest('error');
        throw attempt.failure;
      }
      if (error instanceof TokenError) {
        // Ours (the client assertion file cannot be read): the credential is unusable, though nothing was sent.
        this.observer.onTokenRequest('failure', error.code);
        throw error;
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
    // msal appends " - Correlation ID: … - Trace ID: …" on the same line when the description has no line break.
    const description = / - Description: ([\s\S]*?)(?: - Correlation ID: [^\r\n]*)?$/.exec(message)?.[1] ?? message;
    return excerpt(description.startsWith(`${code}: `) ? description.slice(code.length + 2) : description, this.#hide);
  }
}

/**
 * msal-node's INetworkModule (node_modules/@azure/msal-common/src/network/INetworkModule.ts) over our Outbound, one
 * for every msal application. msal passes no per-call context, so the acquisition (its signal, Outbound and the
 * values to hide) comes from AsyncLocalStorage; a failure is also kept there, because msal turns any error of a
 * network client into its own `network_error` (src/protocol/Token.ts, sendPostRequest) or, for the OpenID discovery,
 * into "endpoints could not be resolved" (src/authority/Authority.ts), losing host and cause. Like msal's own
 * HttpClient, the body is returned parsed whatever the status: msal reads Entra ID's error from it.
 */
class EntraNetworkClient implements INetworkModule {
  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('GET', url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.#send<T>('POST', url, options);
  }

  async #send<T>(method: 'GET' | 'POST', url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    const attempt = attempts.getStore();
    if (!attempt) throw new Error(`msal sent a request outside a token acquisition: ${method} ${new URL(url).origin}`);
    const { what, hide } = attempt;
    try {
      const answer = await attempt.outbound.request(url, {
        what, method, headers: options?.headers, body: method === 'POST' ? (options?.body ?? '') : undefined, signal: attempt.signal, hide,
      });
      let body: T;
      try {
        body = JSON.parse(answer.body) as T;
      } catch {
        throw new InvalidResponseError(`${what}: ${new URL(url).origin} answered ${answer.status} ${answer.statusText} with a body that is not JSON (${answer.body.length} characters)`);
      }
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, key) => (headers[key] = value));
      return { status: answer.status, headers, body };
    } catch (error) {
      if (error instanceof ExporterError) attempt.failure ??= error;
      throw error;
    }
  }
}

const networkClient = new EntraNetworkClient();

/**
 * The AADSTS code of an msal error (e.g. AADSTS7000222 = expired secret), else msal's own error code, else the HTTP
 * status of an answer without one (a managed identity endpoint answers `{"statusCode":400,"message":…}`).
 */
export function aadstsCode(error: unknown): string {
  const { errorNo, errorMessage, errorCode, message, status } = error as { errorNo?: string; errorMessage?: string; errorCode?: string; message?: string; status?: number };
  if (errorNo && /^\d+$/.test(errorNo)) return `AADSTS${errorNo}`;
  const found = `${errorMessage ?? ''} ${message ?? ''}`.match(/AADSTS\d+/);
  // msal's errorCode is the `error` field of Entra ID's answer: quoted only when it looks like one (invalid_client).
  if (found) return found[0];
  if (errorCode && /^[A-Za-z0-9_.-]{1,64}$/.test(errorCode)) return errorCode;
  return Number.isInteger(status) ? `http_${status}` : 'unknown';
}
