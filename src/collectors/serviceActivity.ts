import { z } from 'zod';
import { GraphError, InvalidResponseError } from '../model/errors.js';
import { parseItems } from '../graph/resources.js';
import type { RawConfig } from '../config/schema.js';
import { selectServiceActivityFunctions, type ServiceActivityFunction } from '../model/serviceActivityFunctions.js';
import { METRICS } from '../model/metrics.js';
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
      out.add(fn.kind === 'count' ? METRICS.serviceActivityValue : METRICS.serviceActivityRatio, labels, fn.kind === 'count' ? state.latest.value : state.latest.value / 100);
      out.add(METRICS.serviceActivityBucketStart, labels, state.latest.start / 1_000);
    }
  },
};

async function refreshFunction(context: FetchContext<ServiceActivitySettings>, fn: ServiceActivityFunction, previous: FunctionState | undefined): Promise<FunctionState> {
  const state: FunctionState = previous ? { ...previous } : { enabled: true };
  const labels = { workload: fn.workload, metric: fn.metric };
  const now = context.now.getTime();
  const settings = context.settings;
  if (fn.kind === 'count') context.count(METRICS.serviceActivityEvents, labels, 0);
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
    const items = await context.graph.getCollection(path, { endpoint: ENDPOINT, budget: context.budgets.serviceActivity, signal: context.signal });
    buckets = parseItems(bucketSchema, items, `${ENDPOINT} ${fn.name}`).map((item) => {
      const value = fn.kind === 'count' ? item.value : item.percentage;
      if (value === null || value === undefined) {
        throw new InvalidResponseError(`${ENDPOINT} ${fn.name}: bucket ${item.intervalStartDateTime} has no "${fn.kind === 'count' ? 'value' : 'percentage'}"`);
      }
      return { start: Date.parse(item.intervalStartDateTime), value };
    }).sort((a, b) => a.start - b.start);
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
    if (!firstRead && bucket.start >= state.finalThrough! && fn.kind === 'count') context.count(METRICS.serviceActivityEvents, labels, bucket.value);
    state.latest = bucket;
  }
  // Buckets Graph did not return before the boundary had no activity; they are final too.
  state.finalThrough = Math.max(state.finalThrough ?? 0, finalBoundary);
  return state;
}

/** Why a function is not available to this tenant (to disable it), or undefined for a failure worth retrying. */
function notOfferedReason(error: unknown, fn: ServiceActivityFunction): string | undefined {
  if (!(error instanceof GraphError)) return undefined;
  if (error.status === 403) return `permission not granted (Graph 403 ${error.code}); grant the application permission ${fn.permission}`;
  if (error.status === 404 || error.status === 501) return `not offered here (Graph ${error.status} ${error.code})`;
  // Graph answers an unknown path segment (a cloud without the beta Monitoring API) with 400 "Resource not found for the segment".
  if (error.status === 400 && /segment/i.test(error.message)) return `not offered in this cloud (Graph 400 ${error.code})`;
  return undefined;
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
