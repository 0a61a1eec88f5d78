import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { graph, TENANT, token } from './helpers.js';

const PAGING = { tenantId: '33333333-2222-4333-8444-555555555555', clientId: 'paging-app', clientSecret: 'paging-secret', services: 250 };
let sim: Simulator;
let accessToken: string;

beforeAll(async () => {
  // Throttling has its own suite; here it would only get in the way of the many requests.
  sim = await startSimulator({ tenants: [TENANT, PAGING], enforceThrottling: false });
  accessToken = await token(sim);
});
afterAll(() => sim.stop());

async function getAll(first: string, tok: string, headers: Record<string, string> = {}): Promise<{ pages: number[]; values: any[]; links: string[] }> {
  const pages: number[] = [];
  const values: any[] = [];
  const links: string[] = [];
  let next: string | undefined = first;
  while (next) {
    const res = await graph(sim, tok, next, headers);
    expect(res.status).toBe(200);
    const body = res.json();
    pages.push(body.value.length);
    values.push(...body.value);
    next = body['@odata.nextLink'];
    if (next) links.push(next);
  }
  return { pages, values, links };
}

describe('authentication', () => {
  it('answers 401 InvalidAuthenticationToken without, or with a forged, token', async () => {
    const missing = await graph(sim, '', 'healthOverviews', { Authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer /);
    const body = missing.json();
    expect(body.error.code).toBe('InvalidAuthenticationToken');
    expect(body.error.message).toBe('Access token is empty.');
    expect(Object.keys(body.error.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
    const [h, c] = accessToken.split('.');
    expect((await graph(sim, `${h}.${c}.forged`, 'issues')).status).toBe(401);
  });

  it('rejects expired tokens (simulated clock)', async () => {
    let now = Date.now();
    const clocked = await startSimulator({ tenants: [TENANT], tokenLifetimeSeconds: 60, now: () => new Date(now) });
    try {
      const tok = await token(clocked);
      expect((await graph(clocked, tok, 'issues')).status).toBe(200);
      now += 61_000;
      const res = await graph(clocked, tok, 'issues');
      expect(res.status).toBe(401);
      expect(res.json().error.message).toMatch(/expired/);
    } finally {
      await clocked.stop();
    }
  });
});

describe('healthOverviews', () => {
  it('lists the realistic catalogue in camelCase', async () => {
    const body = (await graph(sim, accessToken, 'healthOverviews')).json();
    expect(body['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#admin/serviceAnnouncement/healthOverviews`);
    expect(body.value.length).toBeGreaterThanOrEqual(25);
    expect(body.value).toContainEqual({ id: 'Exchange', service: 'Exchange Online', status: 'serviceOperational' });
    expect(body.value).toContainEqual({ id: 'OSDPPlatform', service: 'Microsoft 365 suite', status: 'serviceOperational' });
  });

  it('gets one service by id or name, case-insensitively, with $expand=issues', async () => {
    const byName = await graph(sim, accessToken, 'healthOverviews/Microsoft%20365%20suite');
    expect(byName.json()).toMatchObject({ id: 'OSDPPlatform', '@odata.context': expect.stringMatching(/healthOverviews\/\$entity$/) });
    const expanded = (await graph(sim, accessToken, 'healthOverviews/exchange?$expand=issues')).json();
    expect(expanded.id).toBe('Exchange');
    expect(expanded.issues.length).toBeGreaterThan(0);
    expect(expanded.issues.every((i: any) => i.service === 'Exchange Online')).toBe(true);
    expect((await graph(sim, accessToken, 'healthOverviews/NoSuchService')).json().error.code).toBe('itemNotFound');
  });

  it('pages 250 synthetic services by 100, and by odata.maxpagesize', async () => {
    const tok = await token(sim, PAGING);
    const byDefault = await getAll('healthOverviews', tok);
    expect(byDefault.pages).toEqual([100, 100, 50]);
    expect(byDefault.values[0]).toEqual({ id: 'Svc001', service: 'Synthetic Service 001', status: 'serviceOperational' });
    expect(new Set(byDefault.values.map((v) => v.id)).size).toBe(250);
    expect(byDefault.links[0]).toBe(`${sim.url}/v1.0/admin/serviceAnnouncement/healthOverviews?$skip=100`);

    const res = await graph(sim, tok, 'healthOverviews?$select=id,status', { Prefer: 'odata.maxpagesize=120' });
    expect(res.headers['preference-applied']).toBe('odata.maxpagesize=120');
    expect(res.json()['@odata.nextLink']).toBe(`${sim.url}/v1.0/admin/serviceAnnouncement/healthOverviews?$select=id,status&$skip=120`);
    const sized = await getAll('healthOverviews?$select=id,status', tok, { Prefer: 'odata.maxpagesize=120' });
    expect(sized.pages).toEqual([120, 120, 10]);
    expect(Object.keys(sized.values[249])).toEqual(['id', 'status']);
  });

  it('bounds the total with $top across pages', async () => {
    const tok = await token(sim, PAGING);
    const topped = await getAll('healthOverviews?$top=130', tok);
    expect(topped.pages).toEqual([100, 30]);
    expect(topped.values.at(-1).id).toBe('Svc130');
  });
});

describe('issues and messages', () => {
  it('pages bulk issues, capping odata.maxpagesize at 1000', async () => {
    const tok = await token(sim, PAGING);
    sim.tenant(PAGING.tenantId).addIssues(1250);
    const res = await graph(sim, tok, 'issues', { Prefer: 'odata.maxpagesize=5000' });
    expect(res.headers['preference-applied']).toBe('odata.maxpagesize=1000');
    const all = await getAll('issues', tok, { Prefer: 'odata.maxpagesize=5000' });
    expect(all.pages).toEqual([1000, 250]);
    expect(all.values.every((i) => i.isResolved === true && /^SV\d{6}$/.test(i.id))).toBe(true);
  });

  it('returns full issue shapes, $select, and OData errors for unknown properties', async () => {
    const body = (await graph(sim, accessToken, 'issues')).json();
    const issue = body.value[0];
    expect(Object.keys(issue).sort()).toEqual(
      ['classification', 'details', 'endDateTime', 'feature', 'featureGroup', 'id', 'impactDescription', 'isResolved', 'lastModifiedDateTime', 'origin', 'posts', 'service', 'startDateTime', 'status', 'title'].sort(),
    );
    expect(issue.posts[0]).toMatchObject({ postType: 'regular', description: { contentType: 'html' } });

    const selected = (await graph(sim, accessToken, 'issues?$select=id,status')).json();
    expect(selected['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#admin/serviceAnnouncement/issues(id,status)`);
    expect(Object.keys(selected.value[0])).toEqual(['id', 'status']);

    const bad = await graph(sim, accessToken, 'issues?$select=id,highImpact');
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'BadRequest', message: "Could not find a property named 'highImpact' on type 'microsoft.graph.serviceHealthIssue'." });
    expect(bad.json().error.innerError['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('supports the $filter subset and rejects the rest', async () => {
    const t = sim.tenant(TENANT.tenantId);
    const id = t.openIssue({ serviceId: 'microsoftteams', classification: 'incident', title: 'Filter probe' });
    const open = (await graph(sim, accessToken, `issues?$filter=isResolved eq false and classification eq 'incident'`)).json();
    expect(open.value.map((i: any) => i.id)).toContain(id);
    expect(open.value.every((i: any) => !i.isResolved && i.classification === 'incident')).toBe(true);
    const recent = (await graph(sim, accessToken, `issues?$filter=lastModifiedDateTime ge ${new Date(Date.now() - 60_000).toISOString()}`)).json();
    expect(recent.value.map((i: any) => i.id)).toEqual([id]);
    t.resolveIssue(id);
    for (const unsupported of [`isResolved eq false or isResolved eq true`, `startswith(title,'x')`, `details eq 'x'`]) {
      const res = await graph(sim, accessToken, `issues?$filter=${encodeURIComponent(unsupported)}`);
      expect(res.status).toBe(400);
      expect(res.json().error.code).toBe('BadRequest');
    }
  });

  it('shows an incident lifecycle, service status and the PIR stream', async () => {
    const t = sim.tenant(TENANT.tenantId);
    const id = t.openIssue({ serviceId: 'Exchange', classification: 'incident', title: 'Mail delays', feature: 'Mail flow', featureGroup: 'E-Mail timely delivery' });
    expect(id).toMatch(/^EX\d{6}$/);
    const service = async () => (await graph(sim, accessToken, 'healthOverviews/Exchange')).json().status;
    const issue = async () => (await graph(sim, accessToken, `issues/${id}`)).json();
    expect(await service()).toBe('investigating');
    expect(await issue()).toMatchObject({ status: 'investigating', isResolved: false, endDateTime: null, service: 'Exchange Online', origin: 'microsoft' });

    t.updateIssue(id, { status: 'serviceDegradation' });
    expect(await service()).toBe('serviceDegradation');
    expect((await issue()).posts).toHaveLength(2);
    expect((await graph(sim, accessToken, `issues/${id}/incidentReport`)).status).toBe(404);

    t.resolveIssue(id);
    expect(await issue()).toMatchObject({ status: 'serviceRestored', isResolved: true, endDateTime: expect.any(String) });
    expect(await service()).toBe('serviceRestored');

    t.publishPir(id);
    const pir = await graph(sim, accessToken, `issues/${id}/incidentReport`);
    expect(pir.status).toBe(200);
    expect(pir.headers['content-type']).toBe('application/octet-stream');
    t.setServiceStatus('Exchange', 'someNewStatus');
    expect(await service()).toBe('someNewStatus');
    t.setServiceStatus('Exchange', 'serviceOperational');
  });

  it('returns message-center posts in full shape', async () => {
    const t = sim.tenant(TENANT.tenantId);
    const due = new Date(Date.now() + 7 * 86_400_000);
    const id = t.addMessage({ title: 'Plan for change', category: 'planForChange', severity: 'high', actionRequiredByDateTime: due, isMajorChange: true, tags: ['Action required'] });
    expect(id).toMatch(/^MC\d{6}$/);
    const msg = (await graph(sim, accessToken, `messages/${id}`)).json();
    expect(msg).toMatchObject({
      id,
      category: 'planForChange',
      severity: 'high',
      isMajorChange: true,
      actionRequiredByDateTime: due.toISOString(),
      services: ['Microsoft 365 suite'],
      tags: ['Action required'],
      viewPoint: null,
      hasAttachments: false,
      details: [],
      body: { contentType: 'html' },
    });
    const list = (await graph(sim, accessToken, 'messages')).json();
    expect(list.value.length).toBeGreaterThanOrEqual(6);
  });

  it('answers unknown items with 404 and unknown segments with 400, as Graph does', async () => {
    expect((await graph(sim, accessToken, 'issues/EX000000')).json().error.code).toBe('itemNotFound');
    expect((await graph(sim, accessToken, 'messages/MC000000')).status).toBe(404);
    const unknown = await graph(sim, accessToken, 'nothingHere');
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatchObject({ code: 'BadRequest', message: "Resource not found for the segment 'nothingHere'." });
  });

  it('logs requests with tenant, kind and status, without query secrets', async () => {
    await graph(sim, accessToken, 'issues?$top=1');
    const entry = sim.requests.at(-1)!;
    expect(entry).toMatchObject({ tenantId: TENANT.tenantId, method: 'GET', path: '/v1.0/admin/serviceAnnouncement/issues', query: { $top: '1' }, status: 200, kind: 'graph' });
    expect(JSON.stringify(sim.requests)).not.toContain(TENANT.clientSecret);
  });
});
