import { describe, expect, it } from 'vitest';
import { healthOverviewsCollector } from '../../src/collectors/healthOverviews.js';
import { issuesCollector, type Issue } from '../../src/collectors/issues.js';
import { messagesCollector } from '../../src/collectors/messages.js';
import type { Labels, TenantView } from '../../src/collectors/types.js';
import { SERVICE_HEALTH_STATUSES } from '../../src/graph/enums.js';
import type { MetricDefinition } from '../../src/model/metrics.js';

const NOW = new Date('2026-11-23T12:00:00Z');
const config = { retention: 7 * 86_400_000 };
const services = [
  { id: 'Exchange', name: 'Exchange Online', status: 'serviceDegradation' },
  { id: 'SharePoint', name: 'SharePoint Online', status: 'SomeNewStatus' },
];
const view: TenantView = { services, serviceIdOf: (name) => services.find((s) => s.name === name)?.id ?? name };

function collect(run: (out: { add(metric: MetricDefinition, labels: Labels, value: number): void }) => void) {
  const rows: Array<{ metric: string; labels: Labels; value: number }> = [];
  run({ add: (metric, labels, value) => rows.push({ metric: metric.name, labels, value }) });
  return (metric: string, match: Labels = {}) => rows.filter((r) => r.metric === metric && Object.entries(match).every(([k, v]) => r.labels[k] === v));
}

const issue = (overrides: Partial<Issue>): Issue => ({
  id: 'EX1', serviceName: 'Exchange Online', title: 'Mail delayed', classification: 'incident', status: 'serviceDegradation',
  origin: 'microsoft', feature: 'Mail flow', featureGroup: 'E-Mail timely delivery', isResolved: false,
  start: Date.parse('2026-11-23T10:00:00Z'), end: null, lastModified: Date.parse('2026-11-23T11:00:00Z'), impactDescription: '', posts: [], ...overrides,
});

describe('healthOverviews samples', () => {
  const rows = collect((out) => healthOverviewsCollector.write({ services }, view, out, NOW, config));

  it('exports a state set with every known status, 1 for the current one', () => {
    const exchange = rows('m365_service_status', { service_id: 'Exchange' });
    expect(exchange).toHaveLength(SERVICE_HEALTH_STATUSES.length);
    expect(exchange.filter((r) => r.value === 1).map((r) => r.labels.status)).toEqual(['serviceDegradation']);
  });

  it('keeps an unknown status under its own name and counts it as not operational', () => {
    const sharepoint = rows('m365_service_status', { service_id: 'SharePoint' });
    expect(sharepoint).toHaveLength(SERVICE_HEALTH_STATUSES.length + 1);
    expect(sharepoint.filter((r) => r.value === 1).map((r) => r.labels.status)).toEqual(['SomeNewStatus']);
    expect(rows('m365_service_operational').map((r) => [r.labels.service_id, r.value])).toEqual([['Exchange', 0], ['SharePoint', 0]]);
    expect(rows('m365_service_info', { service_id: 'SharePoint' })[0]?.labels.service_name).toBe('SharePoint Online');
  });
});

describe('issues samples', () => {
  const snapshot = {
    ids: new Set(['EX1', 'EX2', 'EX3', 'EX4', 'SP1']),
    issues: [
      issue({}),
      issue({ id: 'EX2', status: 'serviceInterruption', classification: 'incident' }),
      issue({ id: 'EX3', classification: 'advisory', status: 'investigating', featureGroup: 'Management' }),
      issue({ id: 'EX4', isResolved: true, status: 'postIncidentReviewPublished', end: Date.parse('2026-11-20T00:00:00Z') }),
      issue({ id: 'OLD', isResolved: true, end: Date.parse('2026-11-01T00:00:00Z') }),
      issue({ id: 'X1', serviceName: 'Brand New Service', classification: 'unknownFutureValue' }),
    ],
  };
  const rows = collect((out) => issuesCollector.write(snapshot, view, out, NOW, config));

  it('counts open issues per classification with zero series for every service', () => {
    expect(rows('m365_service_issues_open').map((r) => `${r.labels.service_id}/${r.labels.classification}=${r.value}`)).toEqual([
      'Exchange/incident=2', 'Exchange/advisory=1', 'SharePoint/incident=0', 'SharePoint/advisory=0',
      'Brand New Service/incident=0', 'Brand New Service/advisory=0', 'Brand New Service/unknownFutureValue=1',
    ]);
  });

  it('exports open issues and those resolved within the retention window', () => {
    expect(rows('m365_service_issue_info').map((r) => `${r.labels.issue_id}:${r.labels.resolved}`)).toEqual(['EX1:false', 'EX2:false', 'EX3:false', 'EX4:true', 'X1:false']);
    expect(rows('m365_service_issue_info', { issue_id: 'EX4' })[0]?.labels).toMatchObject({ status: 'postIncidentReviewPublished', service_id: 'Exchange', feature_group: 'E-Mail timely delivery' });
    expect(rows('m365_service_issue_start_timestamp_seconds', { issue_id: 'EX1' })[0]?.value).toBe(Date.parse('2026-11-23T10:00:00Z') / 1_000);
    expect(rows('m365_service_issue_last_update_timestamp_seconds', { issue_id: 'EX1' })[0]?.value).toBe(Date.parse('2026-11-23T11:00:00Z') / 1_000);
  });

  it('shows the worst status of the open issues of each feature group', () => {
    expect(rows('m365_service_feature_group_status', { service_id: 'Exchange' }).map((r) => `${r.labels.feature_group}=${r.labels.status}`)).toEqual([
      'E-Mail timely delivery=serviceInterruption', 'Management=investigating',
    ]);
  });
});

describe('messages samples', () => {
  const rest = { start: null, lastModified: null, services: [], tags: [], html: '' };
  const snapshot = {
    messages: [
      { id: 'MC1', title: 'Plan for change', category: 'planForChange', severity: 'high', isMajorChange: true, actionRequiredBy: Date.parse('2026-11-28T00:00:00Z'), end: null, ...rest },
      { id: 'MC2', title: 'Past deadline', category: 'planForChange', severity: 'high', isMajorChange: true, actionRequiredBy: Date.parse('2026-11-01T00:00:00Z'), end: Date.parse('2027-01-01T00:00:00Z'), ...rest },
      { id: 'MC3', title: 'Expired', category: 'stayInformed', severity: 'normal', isMajorChange: false, actionRequiredBy: null, end: Date.parse('2026-11-22T00:00:00Z'), ...rest },
      { id: 'MC4', title: 'Future category', category: 'newCategory', severity: 'normal', isMajorChange: false, actionRequiredBy: null, end: null, ...rest },
    ],
  };
  const rows = collect((out) => messagesCollector.write(snapshot, view, out, NOW, config));

  it('counts active posts with zero series for known combinations and keeps unknown categories', () => {
    expect(rows('m365_message_center_messages')).toHaveLength(3 * 3 * 2 + 1);
    expect(rows('m365_message_center_messages', { category: 'planForChange', severity: 'high', major_change: 'true' })[0]?.value).toBe(2);
    expect(rows('m365_message_center_messages', { category: 'stayInformed', severity: 'normal', major_change: 'false' })[0]?.value).toBe(0);
    expect(rows('m365_message_center_messages', { category: 'newCategory' })[0]?.value).toBe(1);
  });

  it('exports deadlines that are still ahead', () => {
    expect(rows('m365_message_center_action_required_by_timestamp_seconds').map((r) => [r.labels.message_id, r.value])).toEqual([['MC1', Date.parse('2026-11-28T00:00:00Z') / 1_000]]);
  });
});
