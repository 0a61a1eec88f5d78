import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Issue } from '../../src/collectors/issues.js';
import type { Message } from '../../src/collectors/messages.js';
import { SERVICE_HEALTH_STATUSES } from '../../src/graph/enums.js';
import type { DailyHistory } from '../../src/history/daily.js';
import { answerLegacy, type LegacyTenant } from '../../src/legacy/api.js';
import { legacyStatus, legacyStatusText } from '../../src/legacy/entities.js';
import type { TenantData } from '../../src/runtime/tenant.js';

const NOW = new Date('2019-12-08T13:08:13Z');
const issue = (overrides: Partial<Issue>): Issue => ({
  id: 'LY197383', serviceName: 'Skype for Business', title: "Can't send messages or make calls to specific federated users",
  classification: 'incident', status: 'serviceDegradation', origin: 'microsoft', feature: 'Federation', featureGroup: 'Federation',
  isResolved: false, start: Date.parse('2019-12-01T04:00:00Z'), end: null, lastModified: Date.parse('2019-12-07T20:25:17Z'),
  impactDescription: 'Users may be unable to initiate chat messages.',
  posts: [{ published: Date.parse('2019-12-05T04:30:18Z'), html: 'Title: Can&#39;t send messages<br><br>User Impact: Users may be unable &amp; more.' }],
  ...overrides,
});
const message: Message = {
  id: 'MC193000', title: 'Plan for change', category: 'planForChange', severity: 'high', isMajorChange: true,
  actionRequiredBy: Date.parse('2020-01-31T00:00:00Z'), start: Date.parse('2019-12-06T00:00:00Z'), end: null, lastModified: Date.parse('2019-12-06T01:00:00Z'),
  services: ['Exchange Online', 'Skype for Business'], tags: ['Admin impact'], html: '<p>Do <b>this</b>.</p><p>Then that.</p>',
};
const data: TenantData = {
  services: [
    { id: 'Exchange', name: 'Exchange Online', status: 'serviceOperational' },
    { id: 'Lync', name: 'Skype for Business', status: 'serviceDegradation' },
  ],
  issues: [
    issue({}),
    issue({ id: 'LY190000', status: 'serviceRestored', isResolved: true, end: Date.parse('2019-12-01T00:00:00Z'), lastModified: Date.parse('2019-12-01T00:00:00Z'), featureGroup: 'Presence' }),
  ],
  messages: [message],
};
const tenants: LegacyTenant[] = [{ name: 'contoso', tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000001', data }];
const get = (path: string) => {
  const url = new URL(path, 'http://exporter');
  const [, tenant, operation] = /^\/api\/v1\.0\/([^/]+)\/ServiceComms\/([^/]+)$/.exec(url.pathname)!;
  return answerLegacy(tenants, tenant!, operation!, url.searchParams, NOW, `http://exporter/api/v1.0/${tenant}`);
};
const value = (path: string) => (get(path).body as { value: Array<Record<string, unknown>> }).value;

describe('legacy statuses', () => {
  it('maps every Graph status to PascalCase, the post-incident review to PostIncidentReportPublished', () => {
    expect(legacyStatus('serviceDegradation')).toBe('ServiceDegradation');
    expect(legacyStatus('postIncidentReviewPublished')).toBe('PostIncidentReportPublished');
    expect(legacyStatusText('falsePositive')).toBe('False positive');
    expect(legacyStatusText('postIncidentReviewPublished')).toBe('Post-incident report published');
  });

  it('README lists the mapping for every Graph status', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const status of SERVICE_HEALTH_STATUSES) {
      expect(readme, status).toContain(`| \`${status}\` | \`${legacyStatus(status)}\` | ${legacyStatusText(status)} |`);
    }
  });
});

describe('legacy operations', () => {
  it('Services: id, display name and the feature groups seen in issues', () => {
    expect(value('/api/v1.0/contoso/ServiceComms/Services')[1]).toEqual({
      Id: 'Lync', DisplayName: 'Skype for Business', FeatureNames: ['Federation', 'Presence'],
      Features: [{ Name: 'Federation', DisplayName: 'Federation' }, { Name: 'Presence', DisplayName: 'Presence' }],
    });
  });

  it('CurrentStatus: status 24 hours back, the incidents of those hours, each feature group its worst open status', () => {
    const answer = get('/api/v1.0/0D2D1A6E-1111-4C1E-9A7E-000000000001/ServiceComms/CurrentStatus?$filter=Workload eq \'lync\'');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      '@odata.context': 'http://exporter/api/v1.0/0D2D1A6E-1111-4C1E-9A7E-000000000001/ServiceComms/$metadata#CurrentStatus',
      value: [{
        Id: 'Lync', Workload: 'Lync', StatusDate: '2019-12-07T00:00:00.000Z', StatusTime: '2019-12-07T13:08:13.000Z', WorkloadDisplayName: 'Skype for Business',
        Status: 'ServiceDegradation', IncidentIds: ['LY197383'],
        FeatureGroupStatusCollection: [
          { Feature: 'Federation', FeatureGroupDisplayName: 'Federation', FeatureStatus: 'ServiceDegradation' },
          { Feature: 'Presence', FeatureGroupDisplayName: 'Presence', FeatureStatus: 'ServiceOperational' },
        ],
      }],
    });
  });

  it('Messages: incidents with their posts as text, message-center posts with category, severity and deadline, newest first', () => {
    const all = value('/api/v1.0/contoso/ServiceComms/Messages');
    expect(all.map((m) => m.Id)).toEqual(['LY197383', 'MC193000', 'LY190000']);
    expect(all[0]).toMatchObject({
      Status: 'Service degradation', MessageType: 'Incident', Classification: 'Incident', Workload: 'Lync', WorkloadDisplayName: 'Skype for Business',
      Feature: 'Federation', FeatureDisplayName: 'Federation', StartTime: '2019-12-01T04:00:00.000Z', EndTime: null, LastUpdatedTime: '2019-12-07T20:25:17.000Z',
      Messages: [{ PublishedTime: '2019-12-05T04:30:18.000Z', MessageText: "Title: Can't send messages\n\nUser Impact: Users may be unable & more." }],
    });
    expect(all[1]).toMatchObject({
      MessageType: 'MessageCenter', Severity: 'High', Category: 'Plan For Change', IsMajorChange: true, ActionRequiredByDate: '2020-01-31T00:00:00.000Z',
      AffectedWorkloadNames: ['Exchange', 'Lync'], Messages: [{ PublishedTime: '2019-12-06T01:00:00.000Z', MessageText: 'Do this.\n\nThen that.' }],
    });
    expect(value("/api/v1.0/contoso/ServiceComms/Messages?$filter=MessageType eq 'MessageCenter' and Workload eq 'Exchange'&$select=Id,Title")).toEqual([{ Id: 'MC193000', Title: 'Plan for change' }]);
  });

  it('answers HistoricalStatus from the daily history: a row per service and day, newest first, filtered on Workload and StatusTime', () => {
    const history: DailyHistory = {
      tenant: 'contoso', days: 30, generatedAt: NOW.toISOString(),
      services: [
        {
          serviceId: 'Lync', serviceName: 'Skype for Business', days: [
            { date: '2019-12-07', worstStatus: 'serviceOperational', incidents: [], advisories: [], featureGroups: [] },
            { date: '2019-12-08', worstStatus: 'serviceDegradation', incidents: ['LY197383'], advisories: ['LY1'], featureGroups: [{ featureGroup: 'Federation', worstStatus: 'serviceDegradation', incidents: ['LY197383'], advisories: [] }] },
          ],
        },
        { serviceId: 'Exchange', serviceName: 'Exchange Online', days: [{ date: '2019-12-08', worstStatus: 'unknown', incidents: [], advisories: [], featureGroups: [] }] },
      ],
    };
    const withHistory: LegacyTenant[] = [{ ...tenants[0]!, history: (days) => (days === 30 ? history : undefined) }];
    const historical = (query: string) => (answerLegacy(withHistory, 'contoso', 'HistoricalStatus', new URLSearchParams(query), NOW, 'http://exporter/api/v1.0/contoso').body as { value: Array<Record<string, unknown>> }).value;
    expect(historical('').map((row) => [row.Id, row.StatusDate, row.Status])).toEqual([
      ['Exchange', '2019-12-08T00:00:00.000Z', 'ServiceOperational'],
      ['Lync', '2019-12-08T00:00:00.000Z', 'ServiceDegradation'],
      ['Lync', '2019-12-07T00:00:00.000Z', 'ServiceOperational'],
    ]);
    expect(historical("$filter=Workload eq 'Lync' and StatusTime ge 2019-12-08T00:00:00Z")).toEqual([{
      Id: 'Lync', Workload: 'Lync', StatusDate: '2019-12-08T00:00:00.000Z', StatusTime: '2019-12-08T00:00:00.000Z', WorkloadDisplayName: 'Skype for Business',
      Status: 'ServiceDegradation', IncidentIds: ['LY197383'],
      FeatureGroupStatusCollection: [{ Feature: 'Federation', FeatureGroupDisplayName: 'Federation', FeatureStatus: 'ServiceDegradation' }],
    }]);
  });

  it('answers an unknown tenant 404, HistoricalStatus without a store 501, and a bad filter 400, as OData errors', () => {
    expect(get('/api/v1.0/fabrikam.com/ServiceComms/Services')).toEqual({ status: 404, body: { error: { code: 'UnknownTenant', message: "no configured tenant is named 'fabrikam.com' or has that tenant id or domain" } } });
    expect(get('/api/v1.0/contoso/ServiceComms/HistoricalStatus').status).toBe(501);
    expect(get('/api/v1.0/contoso/ServiceComms/HistoricalStatus').body).toMatchObject({ error: { code: 'NotImplemented', message: expect.stringContaining('history store') } });
    expect(get("/api/v1.0/contoso/ServiceComms/CurrentStatus?$filter=Status eq 'x'").body).toEqual({ error: { code: 'InvalidFilter', message: "$filter: CurrentStatus cannot be filtered on 'Status'; it can be filtered on Workload" } });
    expect(get('/api/v1.0/contoso/ServiceComms/Incidents').status).toBe(404);
  });
});
