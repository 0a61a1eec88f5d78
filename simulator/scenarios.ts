/** Scripted timelines that make a simulated tenant's numbers move (demo, docker-compose). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Simulator, SimTenant } from './types.js';

/** Ids created by earlier steps of the same pass, e.g. the incident a later step resolves. */
export type ScenarioState = Record<string, string>;

export interface ScenarioStep {
  name: string;
  run(tenant: SimTenant, state: ScenarioState): void;
}

export interface Scenario {
  description: string;
  /** Runs once, before the first pass (things that should stay, e.g. an open advisory). */
  setup?(tenant: SimTenant): void;
  /** One pass; a looping run repeats it with fresh state. */
  steps: ScenarioStep[];
}

const DAY_MS = 86_400_000;

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'incident-lifecycle': {
    description:
      'An Exchange incident goes investigating → serviceDegradation → serviceInterruption → serviceRestored → PIR published; ' +
      'a SharePoint advisory stays open; a message-center post has an action date in the future.',
    setup(t) {
      t.openIssue({
        serviceId: 'SharePoint',
        classification: 'advisory',
        status: 'serviceDegradation',
        title: 'Users may see delays when viewing recently uploaded files',
        feature: 'SharePoint Features',
        featureGroup: 'SharePoint Features',
      });
      t.addMessage({
        title: 'Action required: Review your external sharing settings',
        category: 'planForChange',
        severity: 'high',
        actionRequiredByDateTime: new Date(Date.now() + 14 * DAY_MS),
        services: ['SharePoint Online', 'OneDrive for Business'],
        tags: ['Admin impact', 'Action required'],
      });
    },
    steps: [
      {
        name: 'open Exchange incident',
        run: (t, s) => {
          s.incident = t.openIssue({
            serviceId: 'Exchange',
            classification: 'incident',
            status: 'investigating',
            title: 'Users may be unable to access their mailbox using Outlook on the web',
            feature: 'Outlook on the web',
            featureGroup: 'Networking Issues',
          });
        },
      },
      { name: 'degrade', run: (t, s) => t.updateIssue(s.incident!, { status: 'serviceDegradation' }) },
      { name: 'interrupt', run: (t, s) => t.updateIssue(s.incident!, { status: 'serviceInterruption' }) },
      { name: 'restore', run: (t, s) => t.resolveIssue(s.incident!, 'serviceRestored') },
      { name: 'publish PIR', run: (t, s) => t.publishPir(s.incident!) },
      { name: 'back to operational', run: (t) => t.setServiceStatus('Exchange', 'serviceOperational') },
    ],
  },
  'credential-expiry': {
    description: 'The client secret "expires" (AADSTS7000222) for a while, then works again.',
    steps: [
      { name: 'expire secret', run: (t) => t.setFault({ kind: 'tokenFailure', code: 'AADSTS7000222' }) },
      { name: 'still expired', run: () => undefined },
      { name: 'renew secret', run: (t) => t.clearFaults() },
    ],
  },
  'service-activity-anomaly': {
    description:
      'Monitoring API (serviceActivity) anomalies one after another, each followed by recovery: MFA sign-in successes ' +
      'drop to a fifth, Exchange connectivity falls to about 70 %, Teams audio quality (QoE and UDP) to about 60 %.',
    steps: [
      { name: 'MFA sign-in successes drop', run: (t) => t.setServiceActivityAnomaly('mfaSuccessDrop') },
      { name: 'MFA still dropping', run: () => undefined },
      { name: 'MFA recovers', run: (t) => t.setServiceActivityAnomaly(null) },
      { name: 'Exchange connectivity falls', run: (t) => t.setServiceActivityAnomaly('exchangeConnectivityDrop') },
      { name: 'Exchange still falling', run: () => undefined },
      { name: 'Exchange recovers', run: (t) => t.setServiceActivityAnomaly(null) },
      { name: 'Teams audio quality degrades', run: (t) => t.setServiceActivityAnomaly('teamsAudioQualityDrop') },
      { name: 'Teams audio still degraded', run: () => undefined },
      { name: 'Teams audio recovers', run: (t) => t.setServiceActivityAnomaly(null) },
      { name: 'quiet', run: () => undefined },
    ],
  },
  'graph-throttling': {
    description: 'Graph answers 429 with Retry-After for a burst of requests, then recovers.',
    steps: [
      { name: 'throttle', run: (t) => t.setFault({ kind: 'throttle', count: 5, retryAfterSeconds: 2 }) },
      { name: 'recover', run: (t) => t.clearFaults() },
    ],
  },
};

export interface RunScenarioOptions {
  /** Pause after each step. */
  stepMs: number;
  /** Repeat the steps until aborted. @default false */
  loop?: boolean;
  signal?: AbortSignal;
}

/** Plays a scenario on one tenant; resolves when it ends or `signal` aborts (never rejects on abort). */
export async function runScenario(sim: Simulator, tenantId: string, name: string, options: RunScenarioOptions): Promise<void> {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const tenant = sim.tenant(tenantId);
  const { signal } = options;
  scenario.setup?.(tenant);
  do {
    const state: ScenarioState = {};
    for (const step of scenario.steps) {
      if (signal?.aborted) return;
      step.run(tenant, state);
      try {
        await sleep(options.stepMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
  } while (options.loop && !signal?.aborted);
}
