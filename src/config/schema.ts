import { z } from 'zod';
import { CLOUDS, CLOUD_NAMES } from './clouds.js';
import { TIMER_MAX_MS, formatDuration, parseDuration } from './duration.js';
import { Secret } from './secret.js';
import { LOG_FORMATS, LOG_LEVELS } from '../logger.js';
import { SERVICE_ACTIVITY_WORKLOADS, selectServiceActivityFunctions } from '../model/serviceActivityFunctions.js';

const SECOND = 1_000;
const DAY = 86_400_000;
const TIMER_LIMIT = 'a Node.js timer cannot wait longer than 2^31-1 ms, about 24.8 days';

/**
 * A Prometheus duration in milliseconds within [min, max]; a value outside is refused with a message naming the
 * limit, so every value --check-config accepts also runs (test/config/load.test.ts "refuses durations ...").
 * Durations that feed a timer keep the default maximum, TIMER_MAX_MS.
 */
function durationWithin(min: number, max: number, maxReason = TIMER_LIMIT) {
  return z.unknown().transform((value, ctx): number => {
    const refuse = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    if (value === undefined || value === null) return refuse('is required: a duration such as 30s, 15m, 1h30m or 7d');
    if (typeof value === 'number') return refuse(`${value} has no unit; write it as a duration such as ${value}s or ${value}m`);
    if (typeof value !== 'string') return refuse('must be a duration such as 30s, 15m, 1h30m or 7d');
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      return refuse((error as Error).message);
    }
    if (ms < min) return refuse(`"${value}" is shorter than the minimum, ${formatDuration(min)}`);
    if (ms > max) return refuse(`"${value}" is longer than the maximum, ${formatDuration(max)}${maxReason ? ` (${maxReason})` : ''}`);
    return ms;
  });
}

/** Any duration a timer waits for: at least 1s, at most TIMER_MAX_MS. */
const duration = durationWithin(SECOND, TIMER_MAX_MS);

/** A whole number in [min, max]; one message for every way to miss it, naming the range. */
function integerWithin(min: number, max: number, why = '') {
  const message = `must be a whole number from ${min} to ${max}${why ? ` (${why})` : ''}`;
  return z.int({ error: message }).min(min, message).max(max, message);
}

/** One of `values`, each with what it means; the message lists them all. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T, meaning: Partial<Record<T[number], string>> = {}) {
  const listed = values.map((value) => (meaning[value as T[number]] ? `${value} (${meaning[value as T[number]]})` : value));
  return z.enum(values, { error: `must be one of ${listed.join(', ')}` });
}

/** A required string; missing and wrong both say what is expected. */
function requiredString(expected: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `is required: ${expected}` : `must be ${expected}`) });
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https:// URL' })
  .transform((url) => url.replace(/\/+$/, ''));

/** @default 1h: an hour without a successful refresh is an outage of the exporter, not a delay. */
export const DEFAULT_MAX_STALENESS_MS = 3_600_000;
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
/** `proxy:`, and HTTPS_PROXY / NO_PROXY when it is absent (src/config/load.ts). */
export const proxySchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL such as http://proxy.example:3128 (with credentials: http://user:password@proxy.example:3128)' })
    .transform((url) => new Secret(url))
    .describe('The proxy; credentials in it are secrets, never logged'),
  noProxy: z
    .array(z.string().min(1))
    .default([])
    .describe('Hosts reached directly, as NO_PROXY: example.com (and its subdomains), host:port, or * for all'),
});

export const COLLECTOR_NAMES = ['health', 'issues', 'messages', 'serviceActivity'] as const;
/** Collectors a tenant runs when its config does not list them; serviceActivity needs `serviceActivity:`. */
export const DEFAULT_COLLECTORS = ['health', 'issues', 'messages'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

const TENANT_ID = 'a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com';
const CLOUD_OFFERINGS = Object.fromEntries(CLOUD_NAMES.map((name) => [name, CLOUDS[name].offering]));

/** The keys that say how a tenant signs in; a tenant needs exactly one of them. */
export const CREDENTIAL_KEYS = ['clientSecret', 'clientSecretFile', 'clientCertificateFile', 'clientAssertionFile', 'managedIdentity'] as const;
const CREDENTIALS_LISTED = `${CREDENTIAL_KEYS.slice(0, -1).join(', ')} or ${CREDENTIAL_KEYS.at(-1)}`;
const APP_CLIENT_ID = 'the application (client) GUID of the app registration';
const MANAGED_IDENTITY = 'must be system (the system-assigned identity) or { clientId: <GUID> } (a user-assigned identity)';

/** `system`, or a user-assigned identity named by its client id: what msal-node's ManagedIdentityApplication takes. */
const managedIdentitySchema = z.union([
  z.literal('system'),
  z.strictObject({
    clientId: z.string({ error: MANAGED_IDENTITY }).regex(GUID, 'must be the client (application) GUID of the user-assigned managed identity'),
  }, { error: MANAGED_IDENTITY }),
], { error: MANAGED_IDENTITY });

/**
 * Every key of a tenant. `defaults:` takes the same keys except name and tenantId (`tenantDefaultsSchema`), so one
 * multi-tenant app registration (clientId and credential) serves a fleet.
 */
const tenantFields = {
  name: requiredString('a name for the tenant label')
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "." or "-" (it becomes the tenant label)'),
  tenantId: requiredString(TENANT_ID).refine((id) => GUID.test(id) || DOMAIN.test(id), `must be ${TENANT_ID}`),
  // Required unless managedIdentity names the identity (checked with the credential below).
  clientId: z.string({ error: `must be ${APP_CLIENT_ID}` }).regex(GUID, `must be ${APP_CLIENT_ID}`).optional(),
  clientSecret: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
  clientSecretFile: z.string({ error: 'must be a file path' }).min(1, 'must not be empty').optional(),
  clientCertificateFile: z.string({ error: 'must be a file path' }).min(1, 'must not be empty').optional(),
  clientAssertionFile: z.string({ error: 'must be a file path' }).min(1, 'must not be empty').optional()
    .describe('A file holding a JWT from a trusted issuer (workload identity federation), re-read at every token request'),
  managedIdentity: managedIdentitySchema.optional().describe('Sign in as the managed identity of the host (Azure VM, AKS node, App Service)'),
  clientSecretExpiresAt: z
    .string({ error: 'must be an ISO 8601 date or date-time, such as 2027-03-31 or 2027-03-31T12:00:00Z' })
    .refine(
      (text) => (ISO_DATE.test(text) ? z.iso.date() : z.iso.datetime({ offset: true })).safeParse(text).success,
      'must be an ISO 8601 date or date-time, such as 2027-03-31 or 2027-03-31T12:00:00Z',
    )
    .optional()
    .describe('When the app secret expires, so an alert fires before the exporter goes blind'),
  cloud: oneOf(CLOUD_NAMES, CLOUD_OFFERINGS).default('global'),
  authorityHost: httpsUrl.optional(),
  graphEndpoint: httpsUrl.optional(),
  collectors: z.array(oneOf(COLLECTOR_NAMES), { error: `must be a list of collectors: ${COLLECTOR_NAMES.join(', ')}` })
    .min(1, `must list at least one of ${COLLECTOR_NAMES.join(', ')}`)
    .optional(),
  serviceActivity: z
    .array(z.string({ error: 'must be a workload or function name' }).min(1, 'must not be empty'), { error: 'must be a list of workloads or functions, or [all]' })
    .min(1, 'must list at least one workload or function, or "all"')
    .superRefine((selection, ctx) => {
      const { unknown } = selectServiceActivityFunctions(selection);
      if (unknown.length > 0) {
        ctx.addIssue({ code: 'custom', message: `unknown Monitoring API workload or function ${unknown.map((u) => `"${u}"`).join(', ')}; use "all", a workload (${SERVICE_ACTIVITY_WORKLOADS.join(', ')}) or a function name such as getMetricsForMfaSignInSuccess` });
      }
    })
    .optional()
    .describe('Monitoring API functions to read: workload names (exchange, teams, ...), function names, or "all"'),
};

export const tenantSchema = z.strictObject(tenantFields).superRefine((tenant, ctx) => {
  const given = CREDENTIAL_KEYS.filter((key) => tenant[key] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: given.length === 0 ? `needs one credential: ${CREDENTIALS_LISTED}` : `has ${given.join(' and ')}; give exactly one credential`,
    });
  }
  if (tenant.managedIdentity !== undefined) {
    // The identity has its own client id, and its token comes from the host, not from an authority.
    for (const key of ['clientId', 'authorityHost'] as const) {
      if (tenant[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is not used with managedIdentity (a user-assigned identity is named by managedIdentity.clientId; the token comes from the host\'s identity endpoint)' });
    }
  } else if (tenant.clientId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['clientId'], message: `is required: ${APP_CLIENT_ID}` });
  }
});

/** `defaults:`: any tenant key but the two that name one tenant. */
export const tenantDefaultsSchema = z.strictObject(tenantFields).omit({ name: true, tenantId: true })
  .describe('Keys every tenant inherits unless it sets them; a tenant that sets any credential key inherits none');

/** The collectors a tenant runs: its list, or the defaults plus serviceActivity when it selects Monitoring API functions. */
export function collectorsOf(tenant: Pick<RawTenant, 'collectors' | 'serviceActivity'>): CollectorName[] {
  return tenant.collectors ?? [...DEFAULT_COLLECTORS, ...(tenant.serviceActivity ? ['serviceActivity' as const] : [])];
}

/** kube-state-metrics allows any number; a fleet of thousands of tenants needs a few dozen replicas at most. */
export const MAX_SHARDS = 1_000;

/**
 * `sharding:`, and the same from --shard, --total-shards and --shard-from-hostname (src/config/sharding.ts): this
 * replica exports the tenants whose name hashes to `shard` of `totalShards`.
 */
export const shardingSchema = z.strictObject({
  totalShards: integerWithin(1, MAX_SHARDS),
  shard: integerWithin(0, MAX_SHARDS - 1).optional(),
  shardFromHostname: z.literal(true, { error: 'must be true, or left out when shard is given' }).optional()
    .describe('The shard is the ordinal at the end of the pod name (POD_NAME, else the host name), as a StatefulSet names its pods'),
}).superRefine((sharding, ctx) => {
  if ((sharding.shard === undefined) === (sharding.shardFromHostname === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: sharding.shard === undefined
        ? 'needs shard (0 to totalShards - 1) or shardFromHostname: true'
        : 'has shard and shardFromHostname; give one of them',
    });
  } else if (sharding.shard !== undefined && sharding.shard >= sharding.totalShards) {
    ctx.addIssue({ code: 'custom', path: ['shard'], message: `${sharding.shard} is not a shard of ${sharding.totalShards}: shards are numbered 0 to ${sharding.totalShards - 1}` });
  }
});

/** host:port, :port or [v6]:port; the port 0-65535 (0: any free port). */
const LISTEN = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})$/;

export const configSchema = z.strictObject({
  listen: z
    .string()
    .regex(LISTEN, 'must be host:port or :port with a port from 0 to 65535, for example :9877 or 127.0.0.1:9877')
    .default(':9877'),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  logFormat: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).default('logfmt'),
  refresh: z
    .strictObject({
      health: duration.default(60_000),
      issues: duration.default(60_000),
      messages: duration.default(900_000),
      serviceActivity: duration.default(300_000),
    })
    .prefault({}),
  issueRetention: durationWithin(SECOND, 365 * DAY, '').default(7 * DAY).describe('How long resolved issues stay exported (post-incident reviews)'),
  readyTimeout: duration.default(60_000),
  maxStaleness: durationWithin(SECOND, 365 * DAY, '').default(DEFAULT_MAX_STALENESS_MS)
    .describe('A collector that has not refreshed successfully for this long stops exporting its data series'),
  graph: z
    .strictObject({
      timeout: duration.default(30_000),
      maxPages: z.int().min(1).max(10_000).default(50),
      pageSize: z.int().min(1).max(1_000).default(999),
      maxRetries: z.int().min(0).max(10).default(4),
      maxBackoff: duration.default(60_000),
      concurrency: z.int().min(1).max(64).default(4),
      maxResponseBytes: z
        .int()
        .min(1_024)
        .max(1_073_741_824)
        .default(52_428_800)
        .describe('Largest answer accepted from Graph or Entra ID, counted after decompression (50 MiB); a larger one fails with reason too_large'),
    })
    .prefault({}),
  proxy: proxySchema.optional().describe('HTTP CONNECT proxy for Entra ID and Graph; without it HTTPS_PROXY, HTTP_PROXY and NO_PROXY apply'),
  requestBudget: z
    .strictObject({
      perMinute: integerWithin(1, 240, 'Graph allows at most 240 requests per minute per app and tenant').default(240),
      perHour: integerWithin(1, 800, 'Graph allows at most 800 requests per hour per app and tenant').default(800),
    })
    .prefault({})
    .describe('Graph service-communications throttling limits, per app per tenant'),
  serviceActivity: z
    .strictObject({
      aggregationInterval: z
        .union([z.literal(5), z.literal(10), z.literal(15), z.literal(30)], { error: 'must be 5, 10, 15 or 30 (minutes), as the Monitoring API allows' })
        .default(5),
      settleDelay: durationWithin(SECOND, 7 * DAY, 'buckets must settle well within the 30 days the Monitoring API reaches back')
        .default(1_800_000).describe('A bucket counts as final this long after it ends; until then it is re-read'),
      lookback: durationWithin(SECOND, 30 * DAY, 'the Monitoring API reaches back at most 30 days')
        .default(3_600_000).describe('How far back the first read of a function goes'),
      recheckDisabled: duration.default(3_600_000).describe('How often a function disabled by 403/404 is tried again'),
      requestsPerMinute: integerWithin(1, 600).default(60),
    })
    .prefault({}),
  storage: z
    .strictObject({
      enabled: z.boolean({ error: 'must be true or false' }).default(true).describe('false: history is kept in memory only, and lost at exit'),
      path: z.string({ error: 'must be a file path' }).min(1, 'must not be empty').default('data/m365-exporter.db')
        .describe('SQLite file; a relative path is relative to the working directory'),
      retention: durationWithin(30 * DAY, 365 * DAY, '').default(90 * DAY).describe('Issues and transitions older than this are pruned'),
      flushInterval: durationWithin(SECOND, 3_600_000, '').default(60_000).describe('The file is written at most this often, and at shutdown'),
    })
    .prefault({})
    .describe('The embedded history store (SQLite): issues, status transitions, counters and read positions across restarts'),
  otlp: z
    .strictObject({
      endpoint: z
        .url({
          protocol: /^https?$/,
          error: (issue) => (issue.input === undefined
            ? 'is required: the URL of the OTLP/HTTP metrics endpoint, e.g. http://otel-collector:4318/v1/metrics (or set OTEL_EXPORTER_OTLP_ENDPOINT)'
            : 'must be an http:// or https:// URL, e.g. http://otel-collector:4318/v1/metrics'),
        })
        .refine((url) => new URL(url).pathname !== '/', 'must include the path, e.g. http://otel-collector:4318/v1/metrics (the URL is used as given)'),
      protocol: z.enum(OTLP_PROTOCOLS, { error: 'must be http/protobuf or http/json (OTLP over HTTP; gRPC is not supported)' }).default('http/protobuf'),
      compression: oneOf(['none', 'gzip']).default('none').describe('gzip shrinks large fleets\' exports about tenfold'),
      headers: z
        .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name'), z.string().transform((value) => new Secret(value)))
        .default({})
        .describe('Sent with every export; values are secrets (use ${VAR} references)'),
      interval: duration.default(60_000),
      timeout: duration.optional().describe('Per export, retries included; default 10s, or the interval when shorter'),
    })
    .refine((otlp) => otlp.timeout === undefined || otlp.timeout <= otlp.interval, { path: ['timeout'], message: 'must not exceed interval (an export must end before the next one starts)' })
    .transform(({ timeout, ...otlp }) => ({ ...otlp, timeout: timeout ?? Math.min(10_000, otlp.interval) }))
    .optional(),
  defaults: tenantDefaultsSchema.optional(),
  // Read by src/config/load.ts, which adds the tenants of its files to `tenants`.
  tenantsDir: z.string({ error: 'must be a directory path' }).min(1, 'must not be empty').optional()
    .describe('A directory of tenant files (one YAML mapping per *.yml or *.yaml file), relative to the config file'),
  sharding: shardingSchema.optional(),
  tenants: z
    .array(tenantSchema, {
      error: (issue) => (issue.input === undefined ? 'is required: a list of tenants (or tenantsDir: a directory of tenant files)' : 'must be a list of tenants'),
    })
    .min(1, 'must list at least one tenant')
    .superRefine((tenants, ctx) => {
      const seen = new Set<string>();
      let managed = 0;
      tenants.forEach((tenant, index) => {
        if (seen.has(tenant.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${tenant.name}" is used twice; tenant names must be unique` });
        seen.add(tenant.name);
        // msal-node keeps one managed identity source per process (the static ManagedIdentityClient.identitySource in
        // node_modules/@azure/msal-node/src/client/ManagedIdentityClient.ts), and an identity gets tokens for its own directory.
        if (tenant.managedIdentity !== undefined && ++managed === 2) {
          ctx.addIssue({ code: 'custom', path: [index, 'managedIdentity'], message: 'only one tenant can sign in with a managed identity: an identity gets tokens for its own directory only' });
        }
      });
    }),
}).superRefine((config, ctx) => {
  // Data older than one refresh interval is normal between refreshes; maxStaleness says when it is no longer true.
  const used = new Set(config.tenants.flatMap((tenant) => collectorsOf(tenant)));
  const [longest] = COLLECTOR_NAMES.filter((name) => used.has(name)).sort((a, b) => config.refresh[b] - config.refresh[a]);
  if (longest && config.maxStaleness < config.refresh[longest]) {
    const needed = formatDuration(config.refresh[longest]);
    ctx.addIssue({
      code: 'custom',
      path: ['maxStaleness'],
      message: `${formatDuration(config.maxStaleness)} is shorter than refresh.${longest} (${needed}); set it (default ${formatDuration(DEFAULT_MAX_STALENESS_MS)}) to at least ${needed}, better a few refresh intervals, so that one failed refresh keeps the data`,
    });
  }
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawTenant = z.infer<typeof tenantSchema>;
export type ShardingSettings = z.infer<typeof shardingSchema>;
