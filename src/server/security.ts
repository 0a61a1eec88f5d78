import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../config/load.js';
import { NO_WEB_CONFIG, loadWebConfig, type WebConfig } from '../config/web.js';
import type { Logger } from '../logger.js';

/**
 * A bcrypt hash (cost 10) of 24 random bytes nobody kept, checked for unknown users so that the time of an answer
 * does not tell whether a user exists (exporter-toolkit does the same, web/handler.go).
 */
const UNKNOWN_USER_HASH = '$2b$10$NKUn8lls9v2MoXc7J8KmHulVHd9kIuekPOfORg/exHy5avrez2wiS';
/**
 * bcrypt is slow on purpose (about 60 ms at cost 10 here, on the event loop's thread in bcryptjs), and Prometheus sends
 * the same credentials at every scrape, so a successful check is remembered this long. Only a digest of user, hash
 * and password is kept, never the password.
 */
const SUCCESS_CACHE_MS = 60_000;
const SUCCESS_CACHE_SIZE = 100;

export interface WebSecurityOptions {
  /** --web.config.file; without it: plain HTTP, no authentication. */
  path?: string;
  logger: Logger;
  /** Secret values of each web configuration loaded (the TLS key, the password hashes), for the log scrubber. */
  onSecrets(values: string[]): void;
  now?: () => number;
}

/**
 * The web configuration in force. Its files are read again on every new connection and every request (they are
 * small), as exporter-toolkit does, so a renewed certificate, a new password or new headers apply at once; a new
 * configuration that fails validation is logged and the previous one stays.
 */
export class WebSecurity {
  readonly #path?: string;
  readonly #logger: Logger;
  readonly #onSecrets: (values: string[]) => void;
  readonly #now: () => number;
  readonly #listeners: Array<(config: WebConfig) => void> = [];
  readonly #verified = new Map<string, number>();
  #config: WebConfig;
  /** The contents of the files as last loaded, and as last refused (so a broken file is logged once, not per request). */
  #loaded: Buffer[];
  #refused?: Buffer[];

  /** Loads the web configuration; a ConfigError when it is invalid, so the exporter does not start with it. */
  constructor({ path, logger, onSecrets, now = Date.now }: WebSecurityOptions) {
    this.#path = path;
    this.#logger = logger;
    this.#onSecrets = onSecrets;
    this.#now = now;
    this.#config = path === undefined ? NO_WEB_CONFIG : loadWebConfig(path);
    this.#loaded = contents(this.#config.files);
    onSecrets(secretsOf(this.#config));
  }

  /** The configuration in force, after taking in a change of its files. */
  current(): WebConfig {
    this.refresh();
    return this.#config;
  }

  /** Heard after a new web configuration took effect. */
  onChange(listener: (config: WebConfig) => void): void {
    this.#listeners.push(listener);
  }

  refresh(): void {
    if (this.#path === undefined) return;
    const now = contents(this.#config.files);
    if (sameContents(now, this.#loaded) || (this.#refused && sameContents(now, this.#refused))) return;
    let next: WebConfig;
    try {
      next = loadWebConfig(this.#path);
      if (Boolean(next.tls) !== Boolean(this.#config.tls)) {
        throw new ConfigError(`${this.#path}: tls_server_config was ${next.tls ? 'added' : 'removed'}; switching TLS on or off needs a restart`);
      }
    } catch (error) {
      this.#refused = now;
      const reason = error instanceof ConfigError ? error.message : String(error);
      this.#logger.error({ webConfig: this.#path, error: reason }, 'web config not reloaded; keeping the previous one');
      return;
    }
    this.#config = next;
    this.#loaded = contents(next.files);
    this.#refused = undefined;
    this.#onSecrets(secretsOf(next));
    this.#logger.info({ webConfig: this.#path, tls: Boolean(next.tls), users: next.users.size }, 'web config reloaded');
    for (const listener of this.#listeners) listener(next);
  }

  /** Whether an Authorization header lets a request in: always without basic_auth_users. */
  async authenticate(authorization: string | undefined): Promise<boolean> {
    const { users } = this.#config;
    if (users.size === 0) return true;
    const credentials = parseBasic(authorization);
    if (!credentials) return false;
    const hash = users.get(credentials.user)?.reveal();
    const key = createHash('sha256').update(JSON.stringify([credentials.user, hash ?? '', credentials.password])).digest('base64');
    const now = this.#now();
    if (hash !== undefined && (this.#verified.get(key) ?? 0) > now) return true;
    const matches = await bcrypt.compare(credentials.password, hash ?? UNKNOWN_USER_HASH);
    if (!matches || hash === undefined) return false;
    if (this.#verified.size >= SUCCESS_CACHE_SIZE) {
      for (const [cached, expires] of this.#verified) if (expires <= now) this.#verified.delete(cached);
      if (this.#verified.size >= SUCCESS_CACHE_SIZE) this.#verified.clear();
    }
    this.#verified.set(key, now + SUCCESS_CACHE_MS);
    return true;
  }
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function secretsOf(config: WebConfig): string[] {
  return [...(config.tls ? [config.tls.keyPem.reveal()] : []), ...[...config.users.values()].map((hash) => hash.reveal())];
}

/** A missing or unreadable file reads as empty: a change like any other, which the reload then reports. */
function contents(files: readonly string[]): Buffer[] {
  return files.map((file) => {
    try {
      return readFileSync(file);
    } catch {
      return Buffer.alloc(0);
    }
  });
}

function sameContents(a: Buffer[], b: Buffer[]): boolean {
  return a.length === b.length && a.every((buffer, i) => buffer.equals(b[i]!));
}
