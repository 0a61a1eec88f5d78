import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { CLOUDS, type CloudName } from './clouds.js';
import { OtelEnvError, otlpFromEnvironment } from './otelEnv.js';
import { collectorsOf, configSchema, proxySchema, type CollectorName, type RawConfig, type RawTenant } from './schema.js';
import { Secret } from './secret.js';

export type Credential =
  | { kind: 'secret'; secret: Secret; expiresAt?: Date }
  | { kind: 'certificate'; certificatePem: string; privateKey: Secret; thumbprintSha256: string; notAfter: Date };

export interface TenantConfig {
  name: string;
  tenantId: string;
  clientId: string;
  credential: Credential;
  cloud: CloudName;
  authorityHost: string;
  graphEndpoint: string;
  collectors: CollectorName[];
  /** Monitoring API selection as configured (workloads, function names or "all"); resolved by the collector. */
  serviceActivity: string[];
}

export interface Config extends Omit<RawConfig, 'tenants'> {
  tenants: TenantConfig[];
  /** Where the config came from, for messages: a file path or "environment". */
  source: string;
}

/** A configuration problem; the message names the source and the field. Never contains a secret value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read config file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const raw = expandEnvReferences(parseYaml(text, path), env, path, []);
  return finish(raw, path, dirname(resolve(path)), env);
}

/**
 * What a YAML syntax error means, by its code. yaml's own messages can quote the source (a code frame with
 * prettyErrors, "Not a YAML token: <text>" without), and the broken line may be a `clientSecret:`; so the message
 * is the position and this description, never text from the file.
 */
const YAML_ERRORS: Partial<Record<YAMLError['code'], string>> = {
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted value (single quotes keep backslashes as they are)',
  BAD_INDENT: 'bad indentation, or a [ or { that is not closed',
  BAD_SCALAR_START: 'a value starts with a reserved character (@ or `); quote it',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping inside a one-line value; quote a value that contains ": "',
  DUPLICATE_KEY: 'the same key twice in one mapping',
  MISSING_CHAR: 'a closing quote or bracket, a comma, or the "-" of a list item is missing',
  MULTILINE_IMPLICIT_KEY: 'a key runs over several lines (a missing ":" or an unclosed quote before it)',
  MULTIPLE_DOCS: 'more than one YAML document',
  TAB_AS_INDENT: 'a tab in the indentation; indent with spaces',
  UNEXPECTED_TOKEN: 'unexpected characters',
};

export function parseYaml(text: string, path: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      const what = YAML_ERRORS[error.code] ?? error.code.toLowerCase().replace(/_/g, ' ');
      return `${path}: invalid YAML at line ${line}, column ${col}: ${what}`;
    }).join('\n'));
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch {
    throw new ConfigError(`${path}: invalid YAML: too many aliases (more than 100 *references)`);
  }
}

/** The single-tenant case, configured entirely through M365_* environment variables. */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const tenant: Record<string, unknown> = {
    name: env.M365_TENANT_NAME ?? 'default',
    tenantId: env.M365_TENANT_ID,
    clientId: env.M365_CLIENT_ID,
    clientSecret: env.M365_CLIENT_SECRET,
    clientSecretFile: env.M365_CLIENT_SECRET_FILE,
    clientCertificateFile: env.M365_CLIENT_CERTIFICATE_FILE,
    clientSecretExpiresAt: env.M365_CLIENT_SECRET_EXPIRES_AT,
    cloud: env.M365_CLOUD,
    authorityHost: env.M365_AUTHORITY_HOST,
    graphEndpoint: env.M365_GRAPH_ENDPOINT,
  };
  const raw: Record<string, unknown> = { tenants: [Object.fromEntries(Object.entries(tenant).filter(([, v]) => v !== undefined && v !== ''))] };
  if (env.M365_LISTEN) raw.listen = env.M365_LISTEN;
  return finish(raw, 'environment', process.cwd(), env, ENV_NAMES);
}

const ENV_NAMES: Record<string, string> = {
  name: 'M365_TENANT_NAME', tenantId: 'M365_TENANT_ID', clientId: 'M365_CLIENT_ID', clientSecret: 'M365_CLIENT_SECRET',
  clientSecretFile: 'M365_CLIENT_SECRET_FILE', clientCertificateFile: 'M365_CLIENT_CERTIFICATE_FILE',
  clientSecretExpiresAt: 'M365_CLIENT_SECRET_EXPIRES_AT', cloud: 'M365_CLOUD', authorityHost: 'M365_AUTHORITY_HOST',
  graphEndpoint: 'M365_GRAPH_ENDPOINT', listen: 'M365_LISTEN',
};

function finish(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv, envNames?: Record<string, string>): Config {
  const { config, otelSources } = withOtlpEnvironment(raw, env);
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(formatIssues(source, parsed.error.issues, envNames, otelSources));
  const { tenants, ...rest } = parsed.data;
  return {
    ...rest,
    proxy: rest.proxy ?? proxyFromEnv(env),
    source,
    tenants: tenants.map((tenant, index) => resolveTenant(tenant, `${source}: ${envNames ? '' : `tenants[${index}].`}`, baseDir, envNames)),
  };
}

/**
 * The `otlp:` section with what the OTEL_* variables add (src/config/otelEnv.ts): a key of the file wins, a header
 * of the file wins over one of the same name (in any case) from the environment. An endpoint in the environment
 * enables the push without an `otlp:` key; without one, the other variables only fill in an `otlp:` of the file.
 */
function withOtlpEnvironment(raw: unknown, env: NodeJS.ProcessEnv): { config: unknown; otelSources: Record<string, string> } {
  let fromEnv;
  try {
    fromEnv = otlpFromEnvironment(env);
  } catch (error) {
    if (error instanceof OtelEnvError) throw new ConfigError(`environment: ${error.message}`);
    throw error;
  }
  if (!fromEnv || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { config: raw, otelSources: {} };
  const file = (raw as Record<string, unknown>).otlp;
  if (file === undefined ? fromEnv.values.endpoint === undefined : file === null || typeof file !== 'object' || Array.isArray(file)) {
    return { config: raw, otelSources: {} };
  }
  const fileKeys = (file ?? {}) as Record<string, unknown>;
  const otlp: Record<string, unknown> = { ...fromEnv.values, ...fileKeys };
  // Where each value from the environment ended up, as formatPath names it, for messages.
  const otelSources: Record<string, string> = {};
  for (const [key, variable] of Object.entries(fromEnv.sources)) if (!(key in fileKeys)) otelSources[`otlp.${key}`] = variable;
  let envHeaders = (fromEnv.values.headers ?? {}) as Record<string, string>;
  const fileHeaders = fileKeys.headers;
  if (fileHeaders !== null && typeof fileHeaders === 'object' && !Array.isArray(fileHeaders)) {
    const named = new Set(Object.keys(fileHeaders).map((name) => name.toLowerCase()));
    envHeaders = Object.fromEntries(Object.entries(envHeaders).filter(([name]) => !named.has(name.toLowerCase())));
    otlp.headers = { ...envHeaders, ...fileHeaders };
  }
  for (const name of Object.keys(envHeaders)) otelSources[`otlp.headers.${name}`] = fromEnv.sources.headers!;
  return { config: { ...raw, otlp }, otelSources };
}

/**
 * The proxy as curl and undici read the environment: lowercase first, HTTPS_PROXY, else HTTP_PROXY (every request of
 * the exporter is https), NO_PROXY as a comma- or space-separated list. `proxy:` in the config replaces all of them.
 */
function proxyFromEnv(env: NodeJS.ProcessEnv): Config['proxy'] {
  const name = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'].find((key) => env[key]);
  if (!name) return undefined;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[,\s]+/).filter(Boolean);
  const parsed = proxySchema.safeParse({ url: env[name], noProxy });
  // The value is not quoted: it may hold credentials.
  if (!parsed.success) throw new ConfigError(`environment: ${name}: ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

export function formatIssues(source: string, issues: z.core.$ZodIssue[], envNames?: Record<string, string>, otelSources: Record<string, string> = {}): string {
  const lines = issues.map((issue) => {
    let field = envNames ? envName(issue.path, envNames) : formatPath(issue.path);
    const variable = [3, 2].map((depth) => otelSources[formatPath(issue.path.slice(0, depth))]).find(Boolean);
    if (variable) field = `${formatPath(issue.path)} (from ${variable})`;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : describe(issue);
    return `${source}: ${field ? `${field}: ` : ''}${message}`;
  });
  return lines.join('\n');
}

const EXPECTED: Record<string, string> = { object: 'a mapping of keys to values', array: 'a list', string: 'a string', number: 'a number', boolean: 'true or false' };

/** zod's own wording ("Invalid input: expected object, received number") said as what is expected. */
function describe(issue: z.core.$ZodIssue): string {
  // A record key's own message (an HTTP header name) is nested under zod's "Invalid key in record".
  if (issue.code === 'invalid_key' && issue.issues[0]) return describe(issue.issues[0]);
  if (issue.code !== 'invalid_type' || !issue.message.startsWith('Invalid input')) return issue.message;
  const expected = EXPECTED[issue.expected] ?? issue.expected;
  return /received undefined$/.test(issue.message) ? `is required: ${expected}` : `must be ${expected}`;
}

function envName(path: PropertyKey[], names: Record<string, string>): string {
  const key = String(path[path.length - 1] ?? '');
  if (path[0] === 'tenants' && path.length <= 2) return 'M365_* tenant settings';
  return names[key] ?? formatPath(path);
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

function resolveTenant(tenant: RawTenant, where: string, baseDir: string, envNames?: Record<string, string>): TenantConfig {
  const cloud = CLOUDS[tenant.cloud];
  const field = (key: string) => `${where}${envNames?.[key] ?? key}`;
  return {
    name: tenant.name,
    tenantId: tenant.tenantId,
    clientId: tenant.clientId,
    credential: resolveCredential(tenant, baseDir, field),
    cloud: tenant.cloud,
    authorityHost: tenant.authorityHost ?? cloud.authorityHost,
    graphEndpoint: tenant.graphEndpoint ?? cloud.graphEndpoint,
    collectors: collectorsOf(tenant),
    serviceActivity: tenant.serviceActivity ?? [],
  };
}

function resolveCredential(tenant: RawTenant, baseDir: string, field: (key: string) => string): Credential {
  const expiresAt = tenant.clientSecretExpiresAt ? new Date(tenant.clientSecretExpiresAt) : undefined;
  if (tenant.clientSecret !== undefined) return { kind: 'secret', secret: new Secret(tenant.clientSecret), expiresAt };
  if (tenant.clientSecretFile !== undefined) {
    const secret = readText(resolve(baseDir, tenant.clientSecretFile), field('clientSecretFile')).trim();
    if (!secret) throw new ConfigError(`${field('clientSecretFile')}: ${tenant.clientSecretFile} is empty`);
    return { kind: 'secret', secret: new Secret(secret), expiresAt };
  }
  const path = resolve(baseDir, tenant.clientCertificateFile!);
  const pem = readText(path, field('clientCertificateFile'));
  const certificatePem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  const keyPem = pem.match(/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/)?.[0];
  if (!certificatePem || !keyPem) {
    throw new ConfigError(`${field('clientCertificateFile')}: ${path} must hold a PEM certificate and its unencrypted private key`);
  }
  try {
    const certificate = new X509Certificate(certificatePem);
    createPrivateKey(keyPem);
    return {
      kind: 'certificate',
      certificatePem,
      privateKey: new Secret(keyPem),
      thumbprintSha256: createHash('sha256').update(certificate.raw).digest('hex'),
      notAfter: new Date(certificate.validTo),
    };
  } catch (error) {
    throw new ConfigError(`${field('clientCertificateFile')}: ${path} is not a usable certificate and key: ${(error as Error).message}`);
  }
}

function readText(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${field}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Replaces `${NAME}` in every string of the parsed YAML (not the raw text, so a secret cannot break the YAML). `$${` escapes. */
export function expandEnvReferences(value: unknown, env: NodeJS.ProcessEnv, source: string, path: PropertyKey[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$(\$?)\{([^}]*)\}/g, (match, escaped: string, name: string) => {
      if (escaped) return match.slice(1);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`${source}: ${formatPath(path)}: "\${${name}}" is not a valid environment variable reference`);
      const resolved = env[name];
      if (resolved === undefined) throw new ConfigError(`${source}: ${formatPath(path)}: environment variable ${name} is not set`);
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnvReferences(item, env, source, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvReferences(v, env, source, [...path, k])]));
  }
  return value;
}

/** The config as it may be shown to a person: credentials replaced by `<secret>`. */
export function redactedConfig(config: Config): unknown {
  return JSON.parse(JSON.stringify(config, (key, value) => (key === 'certificatePem' ? '<certificate>' : value)));
}
