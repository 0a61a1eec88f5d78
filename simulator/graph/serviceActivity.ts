/**
 * Beta Microsoft 365 Monitoring API: `GET /beta/reports/serviceActivity/{function}(inclusiveIntervalStartDateTime=…,
 * exclusiveIntervalEndDateTime=…,aggregationIntervalInMinutes=…)` for every function of ref §6.3.
 *
 * Choices where the reference is silent:
 * - Order of checks: token (401) → rate limit (429) → scripted faults → API offered in this tenant's cloud (400 for
 *   the segment 'serviceActivity') → function exists (400 for its segment, as Graph) → permission (403) → parameters (400).
 * - Function names are matched exactly (Graph's own segment matching may be case-insensitive; being strict here
 *   makes a misspelt name in a client show up in tests). An optional `microsoft.graph.` prefix is accepted.
 * - Parameters: inline literals, OData parameter aliases (`…=@a` with `?@a=…`) for any of the three, or an omitted
 *   interval (→ 15). An alias without a value is null: the interval then defaults to 15, a datetime is missing.
 * - Datetimes: unquoted ISO-8601 with `Z` or an offset (converted to UTC); unaligned starts are accepted and the
 *   buckets begin exactly at the start (data is per minute, so any bucketing is consistent with any other).
 * - Only complete buckets: a bucket is returned when it lies wholly inside [start, end) and has ended (`now`);
 *   the still-running bucket and future ones are left out. A window shorter than one interval answers `[]`.
 * - Late data: a minute's data is complete `settle` after it ends; before that a fraction
 *   `1 − 0.7·(1 − age/settle)²` of it is visible (30 % at once, growing monotonically). Count buckets are the
 *   rounded sum of what is visible, so they grow on later reads and are fixed once the bucket is `settle` old;
 *   percentages are the visibility-weighted mean (they may still move a little); branch levels are not delayed.
 * - Throttling: 100 requests / 10 minutes per app, tenant and function (ref §7 T-M365R, JSON/beta reports,
 *   "applied per report API"), with Retry-After.
 */
import type { Handler, Route, SimulatorCore } from '../http.js';
import type { TenantState } from '../tenant.js';
import {
  findServiceActivityFunction,
  minuteSampler,
  SERVICE_ACTIVITY_FUNCTIONS,
  type ServiceActivityEntry,
} from '../serviceActivityCatalogue.js';
import { GraphError } from './odata.js';
import { graphHandler, SlidingWindowLimiter, type GraphRequest, type GraphResult } from './pipeline.js';

export const SERVICE_ACTIVITY_RATE_LIMIT = { limit: 100, windowMs: 600_000 } as const;
export const DEFAULT_SETTLE_SECONDS = 20 * 60;
const INTERVALS = [5, 10, 15, 30] as const;
const DEFAULT_INTERVAL = 15;
const MAX_AGE_MS = 30 * 86_400_000;
const MINUTE_MS = 60_000;

const START = 'inclusiveIntervalStartDateTime';
const END = 'exclusiveIntervalEndDateTime';
const INTERVAL = 'aggregationIntervalInMinutes';
const PARAMETERS = [START, END, INTERVAL] as const;
type ParameterName = (typeof PARAMETERS)[number];

export interface ServiceActivityRouteOptions {
  /** Late-data settle time. */
  settleMs: number;
}

export function serviceActivityRoutes(core: SimulatorCore, options: ServiceActivityRouteOptions): Route[] {
  const handlers = new Map<string, Handler>();
  for (const { name } of SERVICE_ACTIVITY_FUNCTIONS) {
    const fn = findServiceActivityFunction(name)!;
    // One limiter per function: its key is (app, tenant), so the limit is per app, tenant and function.
    const limiter = new SlidingWindowLimiter([SERVICE_ACTIVITY_RATE_LIMIT]);
    handlers.set(name, graphHandler(core, { endpoint: 'serviceActivity', limiter }, (g) => metrics(g, fn, core.now().getTime(), options.settleMs)));
  }
  const unknown = graphHandler(core, { endpoint: 'serviceActivity', limiter: new SlidingWindowLimiter([SERVICE_ACTIVITY_RATE_LIMIT]) }, (g) => {
    requireOffered(g.tenant);
    throw segmentNotFound(g.params[0]!);
  });
  return [
    {
      method: 'GET',
      pattern: /^\/beta\/reports\/serviceActivity\/(?:microsoft\.graph\.)?([^/()]+)(?:\((.*)\))?\/?$/,
      kind: 'graph',
      handle: (ctx, params) => (handlers.get(params[0]!) ?? unknown)(ctx, params),
    },
  ];
}

function metrics(g: GraphRequest, fn: ServiceActivityEntry, nowMs: number, settleMs: number): GraphResult {
  requireOffered(g.tenant);
  if (g.tenant.serviceActivityDenied.has(fn.name)) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  const { start, end, interval } = parseArguments(fn.name, g.params[1] ?? '', g.ctx.query);
  if (!(INTERVALS as readonly number[]).includes(interval)) {
    throw badRequest(`Invalid value '${interval}' for parameter '${INTERVAL}': allowed values are 5, 10, 15 and 30 (minutes).`);
  }
  if (end <= start) throw badRequest(`'${END}' (${iso(end)}) must be later than '${START}' (${iso(start)}).`);
  if (start < nowMs - MAX_AGE_MS) {
    throw badRequest(`'${START}' (${iso(start)}) is more than 30 days in the past; the earliest start time allowed is ${iso(nowMs - MAX_AGE_MS)}.`);
  }

  const intervalMs = interval * MINUTE_MS;
  const sample = minuteSampler(g.tenant, fn);
  const visible = (minute: number): number => visibility(nowMs - (minute + 1) * MINUTE_MS, settleMs);
  const value: Array<Record<string, string | number>> = [];
  for (let b = start; b + intervalMs <= end && b + intervalMs <= nowMs; b += intervalMs) {
    const first = Math.ceil(b / MINUTE_MS);
    const last = Math.ceil((b + intervalMs) / MINUTE_MS); // exclusive: minutes starting inside [b, b + interval)
    const intervalStartDateTime = iso(b);
    if (fn.profile.model === 'percentage') {
      let sum = 0;
      let weight = 0;
      for (let m = first; m < last; m++) {
        const w = visible(m);
        sum += sample(m) * w;
        weight += w;
      }
      value.push({ intervalStartDateTime, percentage: sum / weight });
    } else if (fn.profile.model === 'level') {
      const levels = Array.from({ length: last - first }, (_, i) => sample(first + i));
      value.push({ intervalStartDateTime, value: fn.profile.flap === 'down' ? Math.min(...levels) : Math.max(...levels) });
    } else {
      let sum = 0;
      for (let m = first; m < last; m++) sum += sample(m) * visible(m);
      value.push({ intervalStartDateTime, value: Math.round(sum) });
    }
  }
  const type = fn.type === 'percentage' ? 'serviceActivityPerformanceMetric' : 'serviceActivityValueMetric';
  return { json: { '@odata.context': `${g.ctx.baseUrl}/beta/$metadata#Collection(microsoft.graph.${type})`, value } };
}

/** Fraction of a minute's data visible `ageMs` after the minute ended. */
export function visibility(ageMs: number, settleMs: number): number {
  if (ageMs >= settleMs) return 1;
  const missing = 1 - Math.max(0, ageMs) / settleMs;
  return 1 - 0.7 * missing * missing;
}

/** A cloud without the API has no `serviceActivity` segment under `reports` at all. */
function requireOffered(tenant: TenantState): void {
  if (!tenant.serviceActivityAvailable) throw segmentNotFound('serviceActivity');
}

function parseArguments(fnName: string, raw: string, query: URLSearchParams): { start: number; end: number; interval: number } {
  const given = new Map<ParameterName, string | null>();
  for (const part of raw.split(',')) {
    if (part.trim() === '' && raw.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw badRequest(`Invalid function call syntax: '${part.trim()}' is not 'name=value' in '${fnName}(${raw})'.`);
    const name = part.slice(0, eq).trim();
    let value: string | null = part.slice(eq + 1).trim();
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      throw badRequest(`The parameter '${name}' is not defined for function '${fnName}'; its parameters are ${START}, ${END} and (optional) ${INTERVAL}.`);
    }
    if (given.has(name as ParameterName)) throw badRequest(`The parameter '${name}' is given more than once.`);
    if (value.startsWith('@')) {
      // An alias without a value in the query string is null (OData). '+' of an offset arrives as a space.
      value = query.get(value)?.replace(/ /g, '+') ?? null;
    }
    given.set(name as ParameterName, value);
  }
  const start = given.get(START);
  const end = given.get(END);
  if (start === undefined || start === null) throw missing(START, fnName);
  if (end === undefined || end === null) throw missing(END, fnName);
  const intervalRaw = given.get(INTERVAL) ?? null;
  if (intervalRaw !== null && !/^[+-]?\d+$/.test(intervalRaw)) {
    throw badRequest(`Invalid value '${intervalRaw}' for parameter '${INTERVAL}': expected an Edm.Int32 (5, 10, 15 or 30).`);
  }
  return { start: parseDateTime(START, start), end: parseDateTime(END, end), interval: intervalRaw === null ? DEFAULT_INTERVAL : Number(intervalRaw) };
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$/i;

/** Edm.DateTimeOffset literal (unquoted, with `Z` or an offset) to epoch ms. */
function parseDateTime(name: string, literal: string): number {
  const m = DATETIME.exec(literal);
  const invalid = (): GraphError =>
    badRequest(`Invalid value '${literal}' for parameter '${name}': expected an unquoted Edm.DateTimeOffset such as 2024-10-02T10:30:00Z.`);
  if (!m) throw invalid();
  const [, y, mo, d, h, mi, s = '0', frac = '', zone = 'Z'] = m as unknown as Array<string | undefined>;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) throw invalid();
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, Number(frac.padEnd(3, '0').slice(0, 3)));
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 14 || om > 59) throw invalid();
    ms -= sign * (oh * 60 + om) * MINUTE_MS;
  }
  return ms;
}

/** `2024-10-02T10:30:00Z` (Graph's form: no fraction when it is zero). */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function missing(name: string, fnName: string): GraphError {
  return badRequest(`The required parameter '${name}' of function '${fnName}' is missing or null.`);
}

function badRequest(message: string): GraphError {
  return new GraphError(400, 'BadRequest', message);
}

/** As Graph (and the simulator's server.ts `unmatched`) answers a segment it does not know: 400, not 404. */
function segmentNotFound(segment: string): GraphError {
  return new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}
