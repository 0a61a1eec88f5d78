import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimTenantSpec, type Simulator } from '../../simulator/index.js';
import { graph, token } from './helpers.js';

const NOW = new Date('2026-03-02T09:30:00Z');
const WEEK_AGO = NOW.getTime() - 7 * 86_400_000;
const REALISTIC: SimTenantSpec = { tenantId: '44444444-2222-4333-8444-555555555555', clientId: 'realistic-app', clientSecret: 'realistic-secret', profile: 'realistic' };
const OTHER: SimTenantSpec = { ...REALISTIC, tenantId: '44444444-2222-4333-8444-000000000002' };

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ tenants: [REALISTIC, OTHER], enforceThrottling: false, now: () => NOW });
});
afterAll(() => sim.stop());

/** Follows @odata.nextLink with the page size a client asks for (Prefer: odata.maxpagesize), as the exporter does. */
async function listAll(spec: SimTenantSpec, path: string, pageSize: number, from = sim): Promise<{ pages: number[]; values: any[] }> {
  const accessToken = await token(from, spec);
  const pages: number[] = [];
  const values: any[] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await graph(from, accessToken, next, { Prefer: `odata.maxpagesize=${pageSize}` });
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBe(`odata.maxpagesize=${pageSize}`);
    const body = res.json();
    pages.push(body.value.length);
    values.push(...body.value);
    next = body['@odata.nextLink'];
  }
  return { pages, values };
}

describe("profile: 'realistic'", () => {
  it('lists 40 services', async () => {
    const { values } = await listAll(REALISTIC, 'healthOverviews', 100);
    expect(values).toHaveLength(40);
    expect(new Set(values.map((s) => s.id)).size).toBe(40);
  });

  it('has 40 issues started within the last 7 days, a mix of open and resolved incidents and advisories, and 60 older resolved ones', async () => {
    const { pages, values } = await listAll(REALISTIC, 'issues', 30);
    expect(pages).toEqual([30, 30, 30, 10]);
    expect(new Set(values.map((i) => i.id)).size).toBe(100);
    const recent = values.filter((i) => Date.parse(i.startDateTime) >= WEEK_AGO);
    const older = values.filter((i) => Date.parse(i.startDateTime) < WEEK_AGO);
    expect(recent).toHaveLength(40);
    expect(older).toHaveLength(60);
    expect(older.every((i) => i.isResolved && Date.parse(i.endDateTime) < WEEK_AGO)).toBe(true);
    const kinds = new Set(recent.map((i) => `${i.classification}/${i.isResolved ? 'resolved' : 'open'}`));
    expect(kinds).toEqual(new Set(['incident/open', 'incident/resolved', 'advisory/open', 'advisory/resolved']));
    expect(recent.every((i) => i.featureGroup && i.feature && i.posts.length >= 1)).toBe(true);
    expect(new Set(recent.map((i) => i.status)).size).toBeGreaterThanOrEqual(4);
    expect(values.every((i) => Date.parse(i.startDateTime) <= NOW.getTime() && (i.isResolved ? i.endDateTime !== null : i.endDateTime === null))).toBe(true);
  });

  it('answers $filter on startDateTime with the same 40 recent issues', async () => {
    const { values } = await listAll(REALISTIC, `issues?$filter=startDateTime ge ${new Date(WEEK_AGO).toISOString()}&$select=id`, 25);
    expect(values).toHaveLength(40);
  });

  it('sets the status of a service with an open incident', async () => {
    const { values: issues } = await listAll(REALISTIC, 'issues?$filter=isResolved eq false and classification eq \'incident\'', 100);
    const { values: services } = await listAll(REALISTIC, 'healthOverviews', 100);
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) expect(services.find((s) => s.service === issue.service)?.status).not.toBe('serviceOperational');
  });

  it('has 300 message-center posts of every category and severity, some major, some needing action ahead', async () => {
    const { pages, values } = await listAll(REALISTIC, 'messages', 100);
    expect(pages).toEqual([100, 100, 100]);
    expect(new Set(values.map((m) => m.id)).size).toBe(300);
    expect(new Set(values.map((m) => m.category))).toEqual(new Set(['stayInformed', 'planForChange', 'preventOrFixIssue']));
    expect(new Set(values.map((m) => m.severity))).toEqual(new Set(['normal', 'high', 'critical']));
    expect(values.filter((m) => m.isMajorChange).length).toBeGreaterThan(0);
    expect(values.filter((m) => m.actionRequiredByDateTime !== null && Date.parse(m.actionRequiredByDateTime) > NOW.getTime()).length).toBeGreaterThan(0);
  });

  it('is the same for the same tenant id, and a subset of one catalogue that differs between tenants', async () => {
    const again = await startSimulator({ tenants: [REALISTIC], now: () => NOW });
    try {
      for (const path of ['issues', 'messages']) {
        const [first, second] = await Promise.all([listAll(REALISTIC, path, 1000), listAll(REALISTIC, path, 1000, again)]);
        expect(second.values).toEqual(first.values);
      }
    } finally {
      await again.stop();
    }
    for (const path of ['issues', 'messages']) {
      const [mine, other] = await Promise.all([listAll(REALISTIC, path, 1000), listAll(OTHER, path, 1000)]);
      expect(mine.values.map((item) => item.id)).not.toEqual(other.values.map((item) => item.id));
      // Microsoft publishes one text per id to every tenant.
      const theirs = new Map(other.values.map((item) => [item.id, item]));
      const common = mine.values.filter((item) => theirs.has(item.id));
      expect(common.length).toBeGreaterThan(mine.values.length / 2);
      for (const item of common) expect(theirs.get(item.id)).toEqual(item);
    }
  });

  it("gives each tenant texts of its own under the same ids with realisticContent: 'per-tenant'", async () => {
    const perTenant = await startSimulator({ tenants: [REALISTIC, OTHER], now: () => NOW, realisticContent: 'per-tenant' });
    try {
      const [mine, other] = await Promise.all([listAll(REALISTIC, 'messages', 1000, perTenant), listAll(OTHER, 'messages', 1000, perTenant)]);
      expect(mine.values).toHaveLength(300);
      const theirs = new Map(other.values.map((item) => [item.id, item]));
      const common = mine.values.filter((item) => theirs.has(item.id));
      expect(common.length).toBeGreaterThan(0);
      expect(common.filter((item) => theirs.get(item.id).title === item.title).length).toBeLessThan(common.length / 2);
    } finally {
      await perTenant.stop();
    }
  });

  it('refuses a services count alongside it', async () => {
    await expect(startSimulator({ tenants: [{ ...REALISTIC, services: 5 }] })).rejects.toThrow("profile 'realistic' brings its own 40 services; leave services unset");
  });
});
