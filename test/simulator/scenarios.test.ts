import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, SCENARIOS, startSimulator, type Simulator } from '../../simulator/index.js';
import { graph, TENANT, token } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ tenants: [TENANT] });
});
afterAll(() => sim.stop());

describe('scenarios', () => {
  it('incident-lifecycle: Exchange incident to PIR, SharePoint advisory stays open, action-dated post', async () => {
    const t = sim.tenant(TENANT.tenantId);
    const exchangeStatuses: string[] = [];
    const observer = setInterval(() => exchangeStatuses.push(t.services.find((s) => s.id === 'Exchange')!.status), 1);
    await runScenario(sim, TENANT.tenantId, 'incident-lifecycle', { stepMs: 15 });
    clearInterval(observer);

    expect(exchangeStatuses).toEqual(expect.arrayContaining(['investigating', 'serviceDegradation', 'serviceInterruption']));
    expect(t.services.find((s) => s.id === 'Exchange')!.status).toBe('serviceOperational');
    expect(t.services.find((s) => s.id === 'SharePoint')!.status).toBe('serviceOperational');

    const tok = await token(sim);
    const issues = (await graph(sim, tok, 'issues?$filter=' + encodeURIComponent("lastModifiedDateTime ge " + new Date(Date.now() - 60_000).toISOString()))).json().value;
    expect(issues).toContainEqual(expect.objectContaining({ service: 'Exchange Online', classification: 'incident', status: 'postIncidentReviewPublished', isResolved: true }));
    expect(issues).toContainEqual(expect.objectContaining({ service: 'SharePoint Online', classification: 'advisory', isResolved: false }));
    const messages = (await graph(sim, tok, 'messages')).json().value;
    expect(messages.some((m: any) => m.actionRequiredByDateTime && Date.parse(m.actionRequiredByDateTime) > Date.now())).toBe(true);
  });

  it('loops until aborted', async () => {
    const abort = new AbortController();
    const run = runScenario(sim, TENANT.tenantId, 'expired-secret', { stepMs: 5, loop: true, signal: abort.signal });
    await new Promise((r) => setTimeout(r, 60));
    abort.abort();
    await expect(run).resolves.toBeUndefined();
    expect(Object.keys(SCENARIOS)).toContain('incident-lifecycle');
  });

  it('holds the first step until the watcher is ready, then a whole step; an abort meanwhile ends the run', async () => {
    const steps: string[] = [];
    let ready!: () => void;
    const run = runScenario(sim, TENANT.tenantId, 'graph-outage', {
      stepMs: 5, firstStepUntil: new Promise<void>((resolve) => (ready = resolve)), onStep: (step) => steps.push(step.name),
    });
    await new Promise((r) => setTimeout(r, 50)); // ten steps' time
    expect(steps).toEqual(['Graph healthy']);
    ready();
    await run;
    expect(steps).toEqual(SCENARIOS['graph-outage']!.steps.map((step) => step.name));

    const abort = new AbortController();
    const held = runScenario(sim, TENANT.tenantId, 'graph-outage', { stepMs: 5, loop: true, signal: abort.signal, firstStepUntil: new Promise(() => undefined) });
    abort.abort();
    await expect(held).resolves.toBeUndefined();
  });

  it('rejects unknown scenarios', async () => {
    await expect(runScenario(sim, TENANT.tenantId, 'nope', { stepMs: 1 })).rejects.toThrow(/unknown scenario/);
  });
});
