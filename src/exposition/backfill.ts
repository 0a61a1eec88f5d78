import { renderHeader, renderSample } from './render.js';
import { SERVICE_HEALTH_STATUSES, isOperational, statusSeverity } from '../graph/enums.js';
import { METRICS } from '../model/metrics.js';
import type { ServiceTransition, StoredIssue } from '../history/store.js';

export interface BackfillInput {
  tenant: string;
  /** Milliseconds since the epoch: the first and the last sample time. */
  from: number;
  to: number;
  /** One sample per series every step; at most Prometheus' lookback (5m), so a query sees no gap. */
  stepMs: number;
  issues: readonly StoredIssue[];
  transitions: readonly ServiceTransition[];
}

/** The classifications that always get a series, as m365_service_issues_open has them live. */
const CLASSIFICATIONS = ['incident', 'advisory'] as const;

/**
 * OpenMetrics with timestamps (for `promtool tsdb create-blocks-from openmetrics`) of m365_service_status,
 * m365_service_operational and m365_service_issues_open, reconstructed from the history store: a service's status at
 * a time is the one observed then (healthOverviews), else before its first observation the worst status of the issues
 * open then (Microsoft sets a service's status from them), else serviceOperational. The state set holds the statuses
 * that occur in the window (the others would be 0 throughout). Lines come one by one: a month of a tenant is millions.
 */
export function* backfillOpenMetrics(input: BackfillInput): Generator<string> {
  const times: number[] = [];
  for (let t = input.from; t <= input.to; t += input.stepMs) times.push(t);
  const services = servicesOf(input);
  const fixed = `tenant="${input.tenant.replace(/["\\\n]/g, '')}"`;
  const line = (name: string, labels: Record<string, string>, value: number, t: number) =>
    renderSample(name, fixed, labels, value).replace(/\n$/, ` ${t / 1_000}\n`);

  yield renderHeader(METRICS.serviceStatus, 'openmetrics');
  for (const service of services) {
    const statuses = times.map((t) => service.statusAt(t));
    const occurring = SERVICE_HEALTH_STATUSES.filter((status) => status === 'serviceOperational' || statuses.includes(status));
    const unknown = [...new Set(statuses)].filter((status) => !(SERVICE_HEALTH_STATUSES as readonly string[]).includes(status));
    for (const status of [...occurring, ...unknown]) {
      for (let i = 0; i < times.length; i++) yield line(METRICS.serviceStatus.name, { service_id: service.id, status }, statuses[i] === status ? 1 : 0, times[i]!);
    }
  }
  yield renderHeader(METRICS.serviceOperational, 'openmetrics');
  for (const service of services) {
    for (const t of times) yield line(METRICS.serviceOperational.name, { service_id: service.id }, isOperational(service.statusAt(t)) ? 1 : 0, t);
  }
  yield renderHeader(METRICS.issuesOpen, 'openmetrics');
  for (const service of services) {
    for (const classification of CLASSIFICATIONS) {
      const own = service.issues.filter((issue) => issue.classification === classification);
      for (const t of times) yield line(METRICS.issuesOpen.name, { service_id: service.id, classification }, own.filter((issue) => openAt(issue, t)).length, t);
    }
  }
  yield '# EOF\n';
}

function openAt(issue: StoredIssue, t: number): boolean {
  return issue.start <= t && (issue.end === null || t < issue.end);
}

/** An issue's status at a time: the last transition seen by then, else the first one seen. */
function issueStatusAt(issue: StoredIssue, t: number): string {
  let status = issue.transitions[0]?.status ?? issue.status;
  for (const transition of issue.transitions) if (transition.at <= t) status = transition.status;
  return status;
}

function servicesOf(input: BackfillInput): Array<{ id: string; issues: StoredIssue[]; statusAt(t: number): string }> {
  const ids = new Set([...input.transitions.map((t) => t.serviceId), ...input.issues.map((issue) => issue.serviceId)]);
  return [...ids].sort().map((id) => {
    const issues = input.issues.filter((issue) => issue.serviceId === id);
    const observed = input.transitions.filter((t) => t.serviceId === id).sort((a, b) => a.at - b.at);
    return {
      id,
      issues,
      statusAt(t: number): string {
        const seen = observed.filter((transition) => transition.at <= t).at(-1);
        if (seen) return seen.status;
        let worst = 'serviceOperational';
        for (const issue of issues) {
          if (!openAt(issue, t)) continue;
          const status = issueStatusAt(issue, t);
          if (!isOperational(status) && (isOperational(worst) || statusSeverity(status) > statusSeverity(worst))) worst = status;
        }
        return worst;
      },
    };
  });
}
