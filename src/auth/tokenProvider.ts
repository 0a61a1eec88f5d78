import { ConfidentialClientApplication, LogLevel, type Configuration } from '@azure/msal-node';
import type { TenantConfig } from '../config/load.js';
import { TokenError } from '../model/errors.js';
import type { Logger } from '../logger.js';

export interface TokenObserver {
  /** One call per request that reached Entra ID (cache hits are not requests). */
  onTokenRequest(result: 'success' | 'failure', errorCode?: string): void;
  onTokenExpiry(expiresOn: Date): void;
}

/**
 * App-only tokens for one tenant via msal-node's client-credentials flow. msal keeps the token in its in-memory
 * cache and only asks Entra ID again when it is close to expiry, so Graph calls do not each cost a token request.
 */
export class TokenProvider {
  readonly #app: ConfidentialClientApplication;
  readonly #scopes: string[];
  #pending?: Promise<string>;

  constructor(private readonly tenant: TenantConfig, private readonly observer: TokenObserver, logger: Logger) {
    const auth: Configuration['auth'] = {
      clientId: tenant.clientId,
      authority: `${tenant.authorityHost}/${tenant.tenantId}`,
      // Listing the host skips msal's instance discovery against the public cloud, which a sovereign cloud or a
      // test authority cannot answer.
      knownAuthorities: [new URL(tenant.authorityHost).host],
    };
    if (tenant.credential.kind === 'secret') {
      auth.clientSecret = tenant.credential.secret.reveal();
    } else {
      auth.clientCertificate = {
        thumbprintSha256: tenant.credential.thumbprintSha256,
        privateKey: tenant.credential.privateKey.reveal(),
        x5c: tenant.credential.certificatePem,
      };
    }
    this.#app = new ConfidentialClientApplication({
      auth,
      system: {
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (_level, message) => logger.debug({ tenant: tenant.name, msal: message }, 'msal'),
        },
      },
    });
    this.#scopes = [`${tenant.graphEndpoint}/.default`];
  }

  /** A valid access token; concurrent callers share one acquisition. */
  getToken(): Promise<string> {
    this.#pending ??= this.#acquire().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #acquire(): Promise<string> {
    let result;
    try {
      result = await this.#app.acquireTokenByClientCredential({ scopes: this.#scopes });
    } catch (error) {
      const code = aadstsCode(error);
      this.observer.onTokenRequest('failure', code);
      const description = firstLine((error as { errorMessage?: string }).errorMessage ?? (error as Error).message);
      throw new TokenError(code, `token request for tenant ${this.tenant.name} failed: ${code}: ${description}`, { cause: error });
    }
    if (!result?.accessToken) {
      this.observer.onTokenRequest('failure', 'no_token');
      throw new TokenError('no_token', `token request for tenant ${this.tenant.name} returned no access token`);
    }
    if (!result.fromCache) this.observer.onTokenRequest('success');
    if (result.expiresOn) this.observer.onTokenExpiry(result.expiresOn);
    return result.accessToken;
  }
}

/** The AADSTS code of an msal error (e.g. AADSTS7000222 = expired secret), else msal's own error code. */
export function aadstsCode(error: unknown): string {
  const { errorNo, errorMessage, errorCode, message } = error as { errorNo?: string; errorMessage?: string; errorCode?: string; message?: string };
  if (errorNo && /^\d+$/.test(errorNo)) return `AADSTS${errorNo}`;
  const found = `${errorMessage ?? ''} ${message ?? ''}`.match(/AADSTS\d+/);
  return found?.[0] ?? errorCode ?? 'unknown';
}

function firstLine(text: string): string {
  // AAD descriptions continue with trace/correlation ids and timestamps; the first line says what is wrong.
  return text.split(/\r?\n/)[0]!.slice(0, 300);
}
