import { z } from 'zod';
import { GraphError, InvalidResponseError } from '../model/errors.js';
import { parseItems } from '../graph/resources.js';
import type { RawConfig } from '../config/schema.js';
import { selectServiceActivityFunctions, type ServiceActivityFunction } from '../model/serviceActivityFunctions.js';
import { BUCKET_REFUSALS, METRICS } from '../model/metrics.js';
import type { Collector, FetchContext } from './types.js';

const ENDPOINT = 'serviceActivity';
/** The Monitoring API refuses windows starting more than 30 days back; keep a bucket of margin. */
const MAX_AGE_MS = 30 * 86_400_000;

export interface FunctionState {
  enabled: boolean;
  /** Why the function is disabled, and when it was last tried. */
  disabled?: { reason: string; at: number };
  /** Exclusive end of the buckets already counted as final: the next read starts here, so nothing is counted twice. */
  finalThrough?: number;
  /** The latest final bucket. */
  latest?: { start: number; value: number };
}

export interface ServiceActivitySnapshot {
  functions: Map<string, FunctionState>;
}

const bucketSchema = z.object({
  intervalStartDateTime: z.iso.datetime({ offset: true }),
  value: z.number().int().nullish(),
  percentage: z.number().nullish(),
});

/**
 * `GET /beta/reports/serviceActivity/{function}(...)` for every function the tenant selected. Buckets are aligned to
 * the aggregation interval. Recent buckets can still grow (late data), so a bucket counts as final only
 * `settleDelay` after it ended; until then it is re-read on every refresh and never counted. The first read of a
 * function is a baseline (its latest final bucket is shown, nothing is added to the counter), so a restart does
 * not count old buckets again.
 */
export interface ServiceActivitySettings extends Readonly<RawConfig['serviceActivity']> {
  /** The tenant's selection as configured: workloads, function names or "all". */
  selection: readonly string[];
}

export const serviceActivityCollector: Collector<ServiceActivitySnapshot, ServiceActivitySettings> = {
  name: 'serviceActivity',

  async fetch(context, previous) {
    const { functions } = selectServiceActivityFunctions(context.settings.selection);
    for (const workload of new Set(functions.map((fn) => fn.workload))) {
      for (const reason of BUCKET_REFUSALS) context.count(METRICS.serviceActivityBucketsRefused, { workload, reason }, 0);
    }
    const states = new Map<string, FunctionState>();
    await Promise.all(functions.map(async (fn) => {
      states.set(fn.name, await refreshFunction(context, fn, previous?.functions.get(fn.name)));
    }));
    return { functions: states };
  },

  write(snapshot, _view, out) {
    const { functions } = selectServiceActivityFunctions([...snapshot.functions.keys()]);
    for (const fn of functions) {
      const state = snapshot.functions.get(fn.name)!;
      const labels = { workload: fn.workload, metric: fn.metric };
      out.add(METRICS.serviceActivityEnabled, labels, state.enabled ? 1 : 0);
      if (!state.latest) continue;
      switch (fn.kind) {
        case 'events':
          out.add(METRICS.serviceActivityBucketEvents, labels, state.latest.value);
          break;
        case 'distinct':
          out.add(METRICS.serviceActivityDistinct, { ...labels, entity: fn.entity! }, state.latest.value);
          break;
        case 'level':
          out.add(METRICS.serviceActivityLevel, labels, state.latest.value);
          break;
        case 'percentage':
          out.add(METRICS.serviceActivityRatio, labels, state.latest.value / 100);
          break;
      }
      out.add(METRICS.serviceActivityBucketStart, labels, state.latest.start / 1_000);
    }
  },
};

async function refreshFunction(context: FetchContext<ServiceActivitySettings>, fn: ServiceActivityFunction, previous: FunctionState | undefined): Promise<FunctionState> {
  const state: FunctionState = previous ? { ...previous } : { enabled: true };
  const labels = { workload: fn.workload, metric: fn.metric };
  const now = context.now.getTime();
  const settings = context.settings;
  // Only events add up over time: a counter of distinct users or of a level would mean nothing (rate() even less).
  if (fn.kind === 'events') context.count(METRICS.serviceActivityEvents, labels, 0);
  if (state.disabled && now - state.disabled.at < settings.recheckDisabled) return state;

  const bucketMs = settings.aggregationInterval * 60_000;
  const end = Math.floor(now / bucketMs) * bucketMs; // the running bucket is incomplete: never asked for
  const finalBoundary = Math.min(end, Math.floor((now - settings.settleDelay) / bucketMs) * bucketMs);
  const oldestAllowed = Math.ceil((now - MAX_AGE_MS) / bucketMs) * bucketMs + bucketMs;
  const firstRead = state.finalThrough === undefined;
  const start = Math.max(
    oldestAllowed,
    firstRead ? Math.min(finalBoundary - bucketMs, Math.floor((now - settings.lookback) / bucketMs) * bucketMs) : state.finalThrough!,
  );
  if (start >= end) return state;

  let buckets: Array<{ start: number; value: number }>;
  try {
    const path = `/beta/reports/serviceActivity/${fn.name}(inclusiveIntervalStartDateTime=${isoSeconds(start)},exclusiveIntervalEndDateTime=${isoSeconds(end)},aggregationIntervalInMinutes=${settings.aggregationInterval})`;
    const items = await context.graph.getCollection(path, { endpoint: ENDPOINT, budget: context.budgets.serviceActivity, signal: context.signal, background: true });
    const field = fn.kind === 'percentage' ? 'percentage' : 'value';
    buckets = acceptedBuckets(context, fn, parseItems(bucketSchema, items, `${ENDPOINT} ${fn.name}`).map((item) => {
      const value = item[field];
      if (value === null || value === undefined) {
        throw new InvalidResponseError(`${ENDPOINT} ${fn.name}: bucket ${item.intervalStartDateTime} has no "${field}"`);
      }
      return { start: Date.parse(item.intervalStartDateTime), value };
    }), { start, end, bucketMs });
  } catch (error) {
    const notOffered = notOfferedReason(error, fn);
    if (notOffered === undefined) {
      context.partialFailure(error as Error, fn.name);
      return state;
    }
    if (state.enabled) context.logger.warn({ tenant: context.tenantName, function: fn.name }, `Monitoring API function disabled for this tenant: ${notOffered}; retrying every ${settings.recheckDisabled / 60_000} min`);
    return { ...state, enabled: false, disabled: { reason: notOffered, at: now } };
  }

  state.enabled = true;
  state.disabled = undefined;
  for (const bucket of buckets) {
    if (bucket.start + bucketMs > finalBoundary) break; // not settled yet: re-read next time
    if (!firstRead && bucket.start >= state.finalThrough! && fn.kind === 'events') context.count(METRICS.serviceActivityEvents, labels, bucket.value);
    state.latest = bucket;
  }
  // Buckets Graph did not return before the boundary had no activity; they are final too.
  state.finalThrough = Math.max(state.finalThrough ?? 0, finalBoundary);
  return state;
}

/**
 * The buckets that answer what was asked, in time order: each starts inside [start, end), on the grid of the requested
 * interval, once. Others (a replayed or cached answer for another window, buckets of another width) would become the
 * latest value or be counted; they are refused, counted by reason, and named in one log line.
 */
function acceptedBuckets(
  context: FetchContext<ServiceActivitySettings>, fn: ServiceActivityFunction, buckets: Array<{ start: number; value: number }>,
  window: { start: number; end: number; bucketMs: number },
): Array<{ start: number; value: number }> {
  const refused = new Map<(typeof BUCKET_REFUSALS)[number], number>();
  const seen = new Set<number>();
  const accepted = buckets.filter((bucket) => {
    const reason = bucket.start < window.start || bucket.start >= window.end ? 'outside_window'
      : (bucket.start - window.start) % window.bucketMs !== 0 ? 'misaligned'
        : seen.has(bucket.start) ? 'duplicate' : undefined;
    seen.add(bucket.start);
    if (reason) refused.set(reason, (refused.get(reason) ?? 0) + 1);
    return reason === undefined;
  });
  for (const [reason, count] of refused) context.count(METRICS.serviceActivityBucketsRefused, { workload: fn.workload, reason }, count);
  if (refused.size > 0) {
    context.logger.warn({
      tenant: context.tenantName, function: fn.name, refused: Object.fromEntries(refused),
      window: `${isoSeconds(window.start)}/${isoSeconds(window.end)}`, intervalMinutes: window.bucketMs / 60_000,
    }, 'Monitoring API answered buckets that were not asked for; refused them');
  }
  return accepted.sort((a, b) => a.start - b.start);
}

/** Why a function is not available to this tenant (to disable it), or undefined for a failure worth retrying. */
function notOfferedReason(error: unknown, fn: ServiceActivityFunction): string | undefined {
  if (!(error instanceof GraphError)) return undefined;
  if (error.status === 403) return `permission not granted (Graph 403 ${error.code}); grant the application permission ${fn.permission}`;
  if (error.status === 404 || error.status === 501) return `not offered here (Graph ${error.status} ${error.code})`;
  // Graph answers a path segment it does not know with 400 "Resource not found for the segment": a function missing from
  // its metadata, or a cloud without the beta Monitoring API.
  if (error.status === 400 && /segment/i.test(error.message)) {
    return `this Graph does not know the function (Graph 400 ${error.code}: resource not found for the segment)${fn.learnOnly ? '; it is documented on Microsoft Learn but absent from Graph\'s beta metadata' : ''}`;
  }
  return undefined;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
