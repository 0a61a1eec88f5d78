import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { CLOUDS, type CloudName } from './clouds.js';
import { DEFAULT_COLLECTORS, configSchema, type CollectorName, type RawConfig, type RawTenant } from './schema.js';
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
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(`${path}: invalid YAML: ${document.errors.map((e) => e.message).join('; ')}`);
  }
  const raw = expandEnvReferences(document.toJS() ?? {}, env, path, []);
  return finish(raw, path, dirname(resolve(path)));
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
  return finish(raw, 'environment', process.cwd(), ENV_NAMES);
}

const ENV_NAMES: Record<string, string> = {
  name: 'M365_TENANT_NAME', tenantId: 'M365_TENANT_ID', clientId: 'M365_CLIENT_ID', clientSecret: 'M365_CLIENT_SECRET',
  clientSecretFile: 'M365_CLIENT_SECRET_FILE', clientCertificateFile: 'M365_CLIENT_CERTIFICATE_FILE',
  clientSecretExpiresAt: 'M365_CLIENT_SECRET_EXPIRES_AT', cloud: 'M365_CLOUD', authorityHost: 'M365_AUTHORITY_HOST',
  graphEndpoint: 'M365_GRAPH_ENDPOINT', listen: 'M365_LISTEN',
};

function finish(raw: unknown, source: string, baseDir: string, envNames?: Record<string, string>): Config {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(source, parsed.error.issues, envNames));
  const { tenants, ...rest } = parsed.data;
  return {
    ...rest,
    source,
    tenants: tenants.map((tenant, index) => resolveTenant(tenant, `${source}: ${envNames ? '' : `tenants[${index}].`}`, baseDir, envNames)),
  };
}

export function formatIssues(source: string, issues: z.core.$ZodIssue[], envNames?: Record<string, string>): string {
  const lines = issues.map((issue) => {
    const field = envNames ? envName(issue.path, envNames) : formatPath(issue.path);
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return `${source}: ${field ? `${field}: ` : ''}${message}`;
  });
  return lines.join('\n');
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
    collectors: tenant.collectors ?? [...DEFAULT_COLLECTORS, ...(tenant.serviceActivity ? ['serviceActivity' as const] : [])],
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
