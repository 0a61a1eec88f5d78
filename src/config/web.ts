/**
 * The web configuration file (--web.config.file) in exporter-toolkit's format, so one file serves every Prometheus
 * exporter of a host: https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md. Validated
 * strictly: an unknown key is an error, and a toolkit setting this exporter does not implement is named as such.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, formatIssues, parseYaml } from './load.js';
import { Secret } from './secret.js';

/** Go's crypto/tls ClientAuthType names, as exporter-toolkit takes them. */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];
const VERIFYING: readonly ClientAuthType[] = ['VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];
const TLS_VERSIONS = { TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

/**
 * The headers a web config may set and the values it accepts, as exporter-toolkit allows them (web/handler.go,
 * extraHTTPHeaders); undefined: any value.
 */
export const CONFIGURABLE_HEADERS: Record<string, readonly string[] | undefined> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

/** bcrypt as htpasswd -B and Go's bcrypt write it: $2a$, $2b$ or $2y$, cost 04-31, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** How many connections the server keeps open at most (--web.max-connections); see the README, "Securing the exporter". */
export const DEFAULT_MAX_CONNECTIONS = 512;
export const maxConnectionsSchema = z
  .string()
  .regex(/^[1-9]\d{0,6}$/, 'must be a whole number of connections from 1 to 9999999')
  .transform(Number);

function unsupported(hint: string) {
  return z
    .unknown()
    .superRefine((_, ctx) => ctx.addIssue({ code: 'custom', message: `is an exporter-toolkit setting this exporter does not support${hint}` }))
    .optional();
}

const file = z.string({ error: 'is required' }).min(1, 'must not be empty');

const tlsSchema = z
  .strictObject({
    cert_file: file,
    key_file: file,
    client_ca_file: file.optional(),
    client_auth_type: z.enum(CLIENT_AUTH_TYPES, { error: `must be one of ${CLIENT_AUTH_TYPES.join(', ')}` }).default('NoClientCert'),
    min_version: z.enum(['TLS12', 'TLS13'], { error: 'must be TLS12 or TLS13' }).default('TLS12'),
    max_version: z.enum(['TLS12', 'TLS13'], { error: 'must be TLS12 or TLS13' }).default('TLS13'),
    cert: unsupported('; put the certificate in a file for cert_file'),
    key: unsupported('; put the key in a file for key_file'),
    client_ca: unsupported('; put the CA certificates in a file for client_ca_file'),
    client_allowed_sans: unsupported('; issue client certificates from a CA of their own for client_ca_file'),
    cipher_suites: unsupported(' (Node.js picks its own, OpenSSL\'s defaults)'),
    curve_preferences: unsupported(' (Node.js picks its own, OpenSSL\'s defaults)'),
    prefer_server_cipher_suites: unsupported(''),
  })
  .superRefine((tls, ctx) => {
    if (tls.min_version === 'TLS13' && tls.max_version === 'TLS12') {
      ctx.addIssue({ code: 'custom', path: ['min_version'], message: 'TLS13 is above max_version TLS12' });
    }
    if (tls.client_ca_file !== undefined && tls.client_auth_type === 'NoClientCert') {
      ctx.addIssue({ code: 'custom', path: ['client_auth_type'], message: 'is NoClientCert but client_ca_file is set; use RequireAndVerifyClientCert to require certificates signed by that CA' });
    }
    if (tls.client_ca_file === undefined && VERIFYING.includes(tls.client_auth_type)) {
      ctx.addIssue({ code: 'custom', path: ['client_ca_file'], message: `is required with client_auth_type ${tls.client_auth_type}: client certificates are verified against it` });
    }
  });

const webConfigSchema = z.strictObject({
  tls_server_config: tlsSchema.nullish(),
  http_server_config: z
    .strictObject({
      headers: z
        .record(z.string(), z.string({ error: 'must be a string' }))
        .superRefine((headers, ctx) => {
          for (const [name, value] of Object.entries(headers)) {
            if (!(name in CONFIGURABLE_HEADERS)) {
              ctx.addIssue({ code: 'custom', path: [name], message: `HTTP header "${name}" can not be configured; these can: ${Object.keys(CONFIGURABLE_HEADERS).join(', ')}` });
              continue;
            }
            const allowed = CONFIGURABLE_HEADERS[name];
            if (allowed && value !== '' && !allowed.includes(value)) {
              ctx.addIssue({ code: 'custom', path: [name], message: `must be ${allowed.map((v) => `"${v}"`).join(' or ')}, not "${value}"` });
            }
          }
        })
        .nullish(),
      http2: unsupported(' (it serves HTTP/1.1, which Prometheus scrapes with by default)'),
    })
    .nullish(),
  basic_auth_users: z
    .record(z.string(), z.string({ error: 'must be a bcrypt hash' }).regex(BCRYPT_HASH, 'must be a bcrypt hash such as $2y$10$..., made with htpasswd -nBC 10 "" | tr -d \':\\n\''))
    .superRefine((users, ctx) => {
      for (const name of Object.keys(users)) {
        if (name === '' || name.includes(':')) ctx.addIssue({ code: 'custom', path: [name], message: 'a user name must not be empty nor contain ":" (basic auth separates user and password with it)' });
      }
    })
    .nullish(),
  rate_limit: unsupported(''),
});

export interface WebTls {
  certPem: string;
  keyPem: Secret;
  /** CA certificates client certificates are verified against. */
  clientCaPem?: string;
  clientAuth: ClientAuthType;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1.2' | 'TLSv1.3';
}

export interface WebConfig {
  /** The web config file; undefined without --web.config.file (plain HTTP, no authentication). */
  source?: string;
  tls?: WebTls;
  /** User name → bcrypt hash; empty: no authentication. */
  users: ReadonlyMap<string, Secret>;
  /** Extra response headers. */
  headers: Readonly<Record<string, string>>;
  /** Every file this configuration was read from, so a change to any of them is noticed. */
  files: readonly string[];
}

export const NO_WEB_CONFIG: WebConfig = { users: new Map(), headers: {}, files: [] };

export function loadWebConfig(path: string): WebConfig {
  // Parsed as the main config is: a syntax error is named by position, never by quoting a line that may hold a hash.
  const parsed = webConfigSchema.safeParse(parseYaml(readText(path, path), path));
  if (!parsed.success) throw new ConfigError(formatIssues(path, parsed.error.issues));
  const raw = parsed.data;
  const files = [resolve(path)];
  const headers = Object.fromEntries(Object.entries(raw.http_server_config?.headers ?? {}).filter(([, value]) => value !== ''));
  const users = new Map(Object.entries(raw.basic_auth_users ?? {}).map(([name, hash]) => [name, new Secret(hash)]));
  if (!raw.tls_server_config) return { source: path, users, headers, files };

  const tls = raw.tls_server_config;
  const read = (key: 'cert_file' | 'key_file' | 'client_ca_file', name: string) => {
    const absolute = resolve(dirname(path), name);
    files.push(absolute);
    return { absolute, text: readText(absolute, `${path}: tls_server_config.${key}`) };
  };
  const cert = read('cert_file', tls.cert_file);
  const key = read('key_file', tls.key_file);
  const certificate = firstCertificate(cert.text);
  if (!certificate) throw new ConfigError(`${path}: tls_server_config.cert_file: ${cert.absolute} holds no PEM certificate`);
  let privateKey;
  try {
    privateKey = createPrivateKey(key.text);
  } catch (error) {
    throw new ConfigError(`${path}: tls_server_config.key_file: ${key.absolute} holds no usable unencrypted private key: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(`${path}: tls_server_config.key_file: ${key.absolute} is not the private key of the certificate in ${cert.absolute}`);
  }
  let clientCaPem: string | undefined;
  if (tls.client_ca_file !== undefined) {
    const ca = read('client_ca_file', tls.client_ca_file);
    if (!firstCertificate(ca.text)) throw new ConfigError(`${path}: tls_server_config.client_ca_file: ${ca.absolute} holds no PEM certificate`);
    clientCaPem = ca.text;
  }
  return {
    source: path,
    tls: {
      certPem: cert.text,
      keyPem: new Secret(key.text),
      clientCaPem,
      clientAuth: tls.client_auth_type,
      minVersion: TLS_VERSIONS[tls.min_version],
      maxVersion: TLS_VERSIONS[tls.max_version],
    },
    users,
    headers,
    files,
  };
}

function firstCertificate(pem: string): X509Certificate | undefined {
  const block = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  if (!block) return undefined;
  try {
    return new X509Certificate(block);
  } catch {
    return undefined;
  }
}

function readText(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const where = field === path ? `${path}: cannot read web config file` : `${field}: cannot read ${path}`;
    throw new ConfigError(`${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
