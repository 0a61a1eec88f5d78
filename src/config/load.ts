import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { CLOUDS, type CloudName } from './clouds.js';
import { OtelEnvError, otlpFromEnvironment } from './otelEnv.js';
import {
  CREDENTIAL_KEYS, collectorsOf, configSchema, proxySchema, tenantDefaultsSchema, type CollectorName, type RawConfig, type RawTenant,
} from './schema.js';
import { Secret } from './secret.js';
import type { Shard } from './sharding.js';

export type Credential =
  | { kind: 'secret'; secret: Secret; expiresAt?: Date }
  | { kind: 'certificate'; certificatePem: string; privateKey: Secret; thumbprintSha256: string; notAfter: Date }
  /** Workload identity federation: the file holds a JWT of a trusted issuer, re-read at every token request (it rotates). */
  | { kind: 'federated'; assertionFile: string }
  /** The host's managed identity: system-assigned, or user-assigned named by its client id. */
  | { kind: 'managedIdentity'; clientId?: string };

export interface TenantConfig {
  name: string;
  tenantId: string;
  /** The app registration's client id; absent with a managed identity (a user-assigned one is named in `credential`). */
  clientId?: string;
  credential: Credential;
  cloud: CloudName;
  authorityHost: string;
  graphEndpoint: string;
  collectors: CollectorName[];
  /** Monitoring API selection as configured (workloads, function names or "all"); resolved by the collector. */
  serviceActivity: string[];
}

/** `defaults:` and `tenantsDir:` are folded into `tenants` when the file is loaded. */
export interface Config extends Omit<RawConfig, 'tenants' | 'defaults' | 'tenantsDir'> {
  tenants: TenantConfig[];
  /** Set by selectShard (src/config/sharding.ts): the part of the fleet `tenants` is. */
  shard?: Shard;
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

/**
 * The single-tenant case, configured entirely through M365_* environment variables. Without an M365_* credential,
 * the variables AKS workload identity injects into a pod sign in by federation: AZURE_FEDERATED_TOKEN_FILE, with
 * AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST standing in for unset M365_* ones
 * (https://azure.github.io/azure-workload-identity/docs/installation/mutating-admission-webhook.html).
 */
export function loadConfigFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const names = { ...ENV_NAMES };
  const ownCredential = ['M365_CLIENT_SECRET', 'M365_CLIENT_SECRET_FILE', 'M365_CLIENT_CERTIFICATE_FILE', 'M365_CLIENT_ASSERTION_FILE', 'M365_MANAGED_IDENTITY']
    .some((name) => env[name]);
  if (!ownCredential && env.AZURE_FEDERATED_TOKEN_FILE) {
    for (const [key, variable] of Object.entries(WORKLOAD_IDENTITY_NAMES)) if (!env[names[key]!] && env[variable]) names[key] = variable;
  }
  const value = (key: string) => env[names[key]!];
  const managedIdentity = value('managedIdentity');
  const tenant: Record<string, unknown> = {
    name: value('name') ?? 'default',
    ...Object.fromEntries(['tenantId', 'clientId', 'clientSecret', 'clientSecretFile', 'clientCertificateFile', 'clientAssertionFile',
      'clientSecretExpiresAt', 'cloud', 'authorityHost', 'graphEndpoint'].map((key) => [key, value(key)])),
    managedIdentity: managedIdentity === undefined || managedIdentity === 'system' ? managedIdentity : { clientId: managedIdentity },
  };
  const raw: Record<string, unknown> = { tenants: [Object.fromEntries(Object.entries(tenant).filter(([, v]) => v !== undefined && v !== ''))] };
  if (env.M365_LISTEN) raw.listen = env.M365_LISTEN;
  return finish(raw, 'environment', process.cwd(), env, names);
}

const ENV_NAMES: Record<string, string> = {
  name: 'M365_TENANT_NAME', tenantId: 'M365_TENANT_ID', clientId: 'M365_CLIENT_ID', clientSecret: 'M365_CLIENT_SECRET',
  clientSecretFile: 'M365_CLIENT_SECRET_FILE', clientCertificateFile: 'M365_CLIENT_CERTIFICATE_FILE',
  clientAssertionFile: 'M365_CLIENT_ASSERTION_FILE', managedIdentity: 'M365_MANAGED_IDENTITY',
  clientSecretExpiresAt: 'M365_CLIENT_SECRET_EXPIRES_AT', cloud: 'M365_CLOUD', authorityHost: 'M365_AUTHORITY_HOST',
  graphEndpoint: 'M365_GRAPH_ENDPOINT', listen: 'M365_LISTEN',
};

/** What AKS workload identity's webhook injects, by the key it stands in for. */
const WORKLOAD_IDENTITY_NAMES: Record<string, string> = {
  clientAssertionFile: 'AZURE_FEDERATED_TOKEN_FILE', clientId: 'AZURE_CLIENT_ID', tenantId: 'AZURE_TENANT_ID', authorityHost: 'AZURE_AUTHORITY_HOST',
};

/** Where a tenant's keys were written, for messages and relative paths. */
interface TenantOrigin {
  /** Position in `tenants:` of the config file, or the tenant file it came from. */
  index: number;
  file?: string;
  /** Relative paths of the tenant's own keys are relative to this directory (its file's). */
  baseDir: string;
  /** Keys that came from `defaults:`: named as defaults.KEY, relative to the config file. */
  inherited: Set<string>;
}

function finish(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv, envNames?: Record<string, string>): Config {
  const assembled = assembleTenants(raw, source, baseDir, env);
  const { config, otelSources } = withOtlpEnvironment(assembled.config, env);
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new ConfigError(formatIssues(source, parsed.error.issues, envNames, otelSources, assembled.origins));
  const { tenants, defaults: _defaults, tenantsDir: _tenantsDir, ...rest } = parsed.data;
  const shared = new Map<string, Credential>();
  return {
    ...rest,
    proxy: rest.proxy ?? proxyFromEnv(env),
    source,
    tenants: tenants.map((tenant, index) => {
      const origin = assembled.origins[index] ?? { index, baseDir, inherited: new Set<string>() };
      const field = (key: string) => (envNames ? `${source}: ${envNames[key] ?? key}` : fieldName(source, origin, [key]));
      const dirOf = (key: string) => (origin.inherited.has(key) ? baseDir : origin.baseDir);
      return resolveTenant(tenant, field, dirOf, shared);
    }),
  };
}

/**
 * The config with the tenants of `tenantsDir` appended to `tenants`, and what `defaults` gives each tenant. A tenant's
 * own key wins; a tenant that sets any credential key inherits none of the defaults' (it signs in its own way), and
 * one with a managed identity inherits no clientId or authorityHost (the identity has its own).
 */
function assembleTenants(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv): { config: unknown; origins: TenantOrigin[] } {
  if (!isMapping(raw)) return { config: raw, origins: [] };
  let tenants = raw.tenants;
  const origins: TenantOrigin[] = Array.isArray(tenants) ? tenants.map((_, index) => ({ index, baseDir, inherited: new Set<string>() })) : [];
  if (typeof raw.tenantsDir === 'string' && raw.tenantsDir !== '' && (tenants === undefined || Array.isArray(tenants))) {
    const listed: unknown[] = [...((tenants as unknown[] | undefined) ?? [])];
    const dir = resolve(baseDir, raw.tenantsDir);
    const problems: string[] = [];
    for (const file of tenantFiles(dir, `${source}: tenantsDir`)) {
      try {
        listed.push(expandEnvReferences(parseYaml(readText(file, `${source}: tenantsDir`), file), env, file, []));
        origins.push({ index: listed.length - 1, file, baseDir: dirname(file), inherited: new Set() });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(error.message);
      }
    }
    if (problems.length > 0) throw new ConfigError(problems.join('\n'));
    if (listed.length === 0) throw new ConfigError(`${source}: tenantsDir: ${dir} holds no tenant files (*.yml, *.yaml) and tenants: lists none`);
    tenants = listed;
  }
  const defaults = raw.defaults;
  if (isMapping(defaults) && Array.isArray(tenants)) {
    tenants = tenants.map((tenant, index) => (isMapping(tenant) ? inherit(defaults, tenant, origins[index]!.inherited) : tenant));
  }
  return { config: { ...raw, tenants }, origins };
}

const INHERITABLE = new Set(Object.keys(tenantDefaultsSchema.shape));
const SIGN_IN_KEYS = new Set<string>([...CREDENTIAL_KEYS, 'clientSecretExpiresAt']);

function inherit(defaults: Record<string, unknown>, tenant: Record<string, unknown>, inherited: Set<string>): Record<string, unknown> {
  const ownCredential = CREDENTIAL_KEYS.some((key) => key in tenant);
  const managed = ownCredential ? 'managedIdentity' in tenant : 'managedIdentity' in defaults;
  const merged = { ...tenant };
  for (const [key, value] of Object.entries(defaults)) {
    // Unknown keys are reported once, under defaults:, not again for every tenant.
    if (key in tenant || !INHERITABLE.has(key) || (ownCredential && SIGN_IN_KEYS.has(key))) continue;
    if (managed && (key === 'clientId' || key === 'authorityHost')) continue;
    merged[key] = value;
    inherited.add(key);
  }
  return merged;
}

/**
 * The tenant files of a directory, by name: *.yml and *.yaml, hidden ones excepted (a Kubernetes ConfigMap mounted
 * as a directory adds `..data` and `..<timestamp>` entries; its files are symbolic links into them).
 */
function tenantFiles(dir: string, where: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new ConfigError(`${where}: cannot read directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return names
    .filter((name) => !name.startsWith('.') && /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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

export function formatIssues(
  source: string, issues: z.core.$ZodIssue[], envNames?: Record<string, string>, otelSources: Record<string, string> = {}, origins: TenantOrigin[] = [],
): string {
  const lines = issues.map((issue) => {
    let field = envNames ? envName(issue.path, envNames) : formatPath(issue.path);
    const variable = [3, 2].map((depth) => otelSources[formatPath(issue.path.slice(0, depth))]).find(Boolean);
    if (variable) field = `${formatPath(issue.path)} (from ${variable})`;
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : describe(issue);
    const origin = !envNames && issue.path[0] === 'tenants' && typeof issue.path[1] === 'number' ? origins[issue.path[1]] : undefined;
    const [where, what] = origin ? locate(source, origin, issue.path.slice(2)) : [source, field];
    return `${where}: ${what ? `${what}: ` : ''}${message}`;
  });
  // A bad value of defaults: is reported under defaults: once, not once for every tenant that inherits it.
  return [...new Set(lines)].join('\n');
}

/**
 * A tenant's field as the person wrote it, as [file, field]: [config.yml, tenants[2].clientId], [tenants.d/contoso.yml,
 * clientId], or [config.yml, defaults.clientId] when it came from defaults.
 */
function locate(source: string, origin: TenantOrigin, path: PropertyKey[]): [string, string] {
  const key = path[0];
  if (typeof key === 'string' && origin.inherited.has(key)) return [source, formatPath(['defaults', ...path])];
  if (origin.file) return [origin.file, formatPath(path)];
  return [source, formatPath(['tenants', origin.index, ...path])];
}

function fieldName(source: string, origin: TenantOrigin, path: PropertyKey[]): string {
  const [where, what] = locate(source, origin, path);
  return `${where}: ${what}`;
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
  if (path[0] === 'tenants' && path.length <= 2) return 'M365_* tenant settings';
  // The variable of the tenant key (M365_MANAGED_IDENTITY for managedIdentity.clientId), else of the top-level key.
  const key = String(path[0] === 'tenants' ? path[2] : path[0]);
  return names[key] ?? formatPath(path);
}

function formatPath(path: PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}

function resolveTenant(tenant: RawTenant, field: (key: string) => string, dirOf: (key: string) => string, shared: Map<string, Credential>): TenantConfig {
  const cloud = CLOUDS[tenant.cloud];
  return {
    name: tenant.name,
    tenantId: tenant.tenantId,
    ...(tenant.clientId !== undefined && { clientId: tenant.clientId }),
    credential: resolveCredential(tenant, field, dirOf, shared),
    cloud: tenant.cloud,
    authorityHost: tenant.authorityHost ?? cloud.authorityHost,
    graphEndpoint: tenant.graphEndpoint ?? cloud.graphEndpoint,
    collectors: collectorsOf(tenant),
    serviceActivity: tenant.serviceActivity ?? [],
  };
}

/**
 * The tenant's credential, read from its file where it has one. A file several tenants name (a `defaults:` certificate
 * of a fleet) is read once and its credential shared.
 */
function resolveCredential(tenant: RawTenant, field: (key: string) => string, dirOf: (key: string) => string, shared: Map<string, Credential>): Credential {
  const expiresAt = tenant.clientSecretExpiresAt ? new Date(tenant.clientSecretExpiresAt) : undefined;
  if (tenant.clientSecret !== undefined) return { kind: 'secret', secret: new Secret(tenant.clientSecret), expiresAt };
  if (tenant.managedIdentity !== undefined) {
    return tenant.managedIdentity === 'system' ? { kind: 'managedIdentity' } : { kind: 'managedIdentity', clientId: tenant.managedIdentity.clientId };
  }
  if (tenant.clientSecretFile !== undefined) {
    const secret = readText(resolve(dirOf('clientSecretFile'), tenant.clientSecretFile), field('clientSecretFile')).trim();
    if (!secret) throw new ConfigError(`${field('clientSecretFile')}: ${tenant.clientSecretFile} is empty`);
    return { kind: 'secret', secret: new Secret(secret), expiresAt };
  }
  const key = tenant.clientAssertionFile !== undefined ? 'clientAssertionFile' : 'clientCertificateFile';
  const path = resolve(dirOf(key), tenant[key]!);
  let credential = shared.get(`${key}:${path}`);
  if (!credential) {
    credential = key === 'clientAssertionFile' ? readAssertionFile(path, field(key)) : readCertificateFile(path, field(key));
    shared.set(`${key}:${path}`, credential);
  }
  return credential;
}

/**
 * Checks that the file holds a JWT now, so a wrong path fails at start; its content is read again at every token
 * request (a projected service account token is rewritten before it expires) and never kept in the configuration.
 */
function readAssertionFile(path: string, field: string): Credential {
  const [header] = readText(path, field).trim().split('.', 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  // The text is not quoted: it is a credential.
  if (!isMapping(parsed) || typeof parsed.alg !== 'string') throw new ConfigError(`${field}: ${path} does not hold a JWT (such as a Kubernetes service account token)`);
  return { kind: 'federated', assertionFile: path };
}

function readCertificateFile(path: string, field: string): Credential {
  const pem = readText(path, field);
  const certificatePem = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  const keyPem = pem.match(/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END \1PRIVATE KEY-----/)?.[0];
  if (!certificatePem || !keyPem) {
    throw new ConfigError(`${field}: ${path} must hold a PEM certificate and its unencrypted private key`);
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
    throw new ConfigError(`${field}: ${path} is not a usable certificate and key: ${(error as Error).message}`);
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
