import { z } from 'zod';
import { CLOUD_NAMES } from './clouds.js';
import { parseDuration } from './duration.js';
import { Secret } from './secret.js';
import { LOG_FORMATS, LOG_LEVELS } from '../logger.js';
import { SERVICE_ACTIVITY_WORKLOADS, selectServiceActivityFunctions } from '../model/serviceActivityFunctions.js';

const duration = z.union([z.string(), z.number()]).transform((text, ctx) => {
  if (typeof text === 'number') {
    ctx.addIssue({ code: 'custom', message: `${text} has no unit; write it as a duration such as ${text}s or ${text}m` });
    return z.NEVER;
  }
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;
const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https:// URL' })
  .transform((url) => url.replace(/\/+$/, ''));

export const COLLECTOR_NAMES = ['health', 'issues', 'messages', 'serviceActivity'] as const;
/** Collectors a tenant runs when its config does not list them; serviceActivity needs `serviceActivity:`. */
export const DEFAULT_COLLECTORS = ['health', 'issues', 'messages'] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

export const tenantSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "." or "-" (it becomes the tenant label)'),
    tenantId: z.string().refine((id) => GUID.test(id) || DOMAIN.test(id), 'must be a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com'),
    clientId: z.string().regex(GUID, 'must be the application (client) GUID of the app registration'),
    clientSecret: z.string().min(1).optional(),
    clientSecretFile: z.string().min(1).optional(),
    clientCertificateFile: z.string().min(1).optional(),
    clientSecretExpiresAt: z.iso.datetime({ offset: true }).or(z.iso.date()).optional()
      .describe('When the app secret expires, so an alert fires before the exporter goes blind'),
    cloud: z.enum(CLOUD_NAMES).default('global'),
    authorityHost: httpsUrl.optional(),
    graphEndpoint: httpsUrl.optional(),
    collectors: z.array(z.enum(COLLECTOR_NAMES)).min(1).optional(),
    serviceActivity: z
      .array(z.string().min(1))
      .min(1)
      .superRefine((selection, ctx) => {
        const { unknown } = selectServiceActivityFunctions(selection);
        if (unknown.length > 0) {
          ctx.addIssue({ code: 'custom', message: `unknown Monitoring API workload or function ${unknown.map((u) => `"${u}"`).join(', ')}; use "all", a workload (${SERVICE_ACTIVITY_WORKLOADS.join(', ')}) or a function name such as getMetricsForMfaSignInSuccess` });
        }
      })
      .optional()
      .describe('Monitoring API functions to read: workload names (exchange, teams, ...), function names, or "all"'),
  })
  .superRefine((tenant, ctx) => {
    const given = (['clientSecret', 'clientSecretFile', 'clientCertificateFile'] as const).filter((key) => tenant[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: given.length === 0
          ? 'needs one credential: clientSecret, clientSecretFile or clientCertificateFile'
          : `has ${given.join(' and ')}; give exactly one credential`,
      });
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
  issueRetention: duration.default(7 * 86_400_000).describe('How long resolved issues stay exported (post-incident reviews)'),
  readyTimeout: duration.default(60_000),
  graph: z
    .strictObject({
      timeout: duration.default(30_000),
      maxPages: z.int().min(1).max(10_000).default(50),
      pageSize: z.int().min(1).max(1_000).default(999),
      maxRetries: z.int().min(0).max(10).default(4),
      maxBackoff: duration.default(60_000),
      concurrency: z.int().min(1).max(64).default(4),
    })
    .prefault({}),
  requestBudget: z
    .strictObject({
      perMinute: z.int().min(1).max(240, 'Graph allows at most 240 requests per minute per app and tenant').default(240),
      perHour: z.int().min(1).max(800, 'Graph allows at most 800 requests per hour per app and tenant').default(800),
    })
    .prefault({})
    .describe('Graph service-communications throttling limits, per app per tenant'),
  serviceActivity: z
    .strictObject({
      aggregationInterval: z
        .union([z.literal(5), z.literal(10), z.literal(15), z.literal(30)], { error: 'must be 5, 10, 15 or 30 (minutes), as the Monitoring API allows' })
        .default(5),
      settleDelay: duration.default(1_800_000).describe('A bucket counts as final this long after it ends; until then it is re-read'),
      lookback: duration.default(3_600_000).describe('How far back the first read of a function goes'),
      recheckDisabled: duration.default(3_600_000).describe('How often a function disabled by 403/404 is tried again'),
      requestsPerMinute: z.int().min(1).max(600).default(60),
    })
    .prefault({}),
  otlp: z
    .strictObject({
      endpoint: z
        .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://otel-collector:4318/v1/metrics' })
        .refine((url) => new URL(url).pathname !== '/', 'must include the path, e.g. http://otel-collector:4318/v1/metrics (the URL is used as given)'),
      protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
      compression: z.enum(['none', 'gzip']).default('none').describe('gzip shrinks large fleets\' exports about tenfold'),
      headers: z
        .record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name'), z.string().transform((value) => new Secret(value)))
        .default({})
        .describe('Sent with every export; values are secrets (use ${VAR} references)'),
      interval: duration.default(60_000),
      timeout: duration.default(10_000).describe('Per export, retries included'),
    })
    .refine((otlp) => otlp.timeout <= otlp.interval, { path: ['timeout'], message: 'must not exceed interval (an export must end before the next one starts)' })
    .optional(),
  tenants: z
    .array(tenantSchema)
    .min(1, 'must list at least one tenant')
    .superRefine((tenants, ctx) => {
      const seen = new Set<string>();
      tenants.forEach((tenant, index) => {
        if (seen.has(tenant.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${tenant.name}" is used twice; tenant names must be unique` });
        seen.add(tenant.name);
      });
    }),
});

export type RawConfig = z.infer<typeof configSchema>;
export type RawTenant = z.infer<typeof tenantSchema>;
