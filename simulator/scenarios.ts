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
  'advisory-only': {
    description:
      'A SharePoint advisory opens and, as Microsoft does, sets the service\'s overall status to serviceDegradation, with no ' +
      'incident at all; later it is resolved.',
    steps: [
      {
        name: 'SharePoint advisory opens; SharePoint serviceDegradation',
        run: (t, s) => {
          s.advisory = t.openIssue({
            serviceId: 'SharePoint',
            classification: 'advisory',
            status: 'serviceDegradation',
            title: 'Some users may see delays when syncing SharePoint document libraries',
            feature: 'SharePoint Features',
            featureGroup: 'SharePoint Features',
          });
          // After openIssue: the simulator derives a service's status from incidents only (tenant.ts syncServiceStatus).
          t.setServiceStatus('SharePoint', 'serviceDegradation');
        },
      },
      { name: 'advisory still open', run: () => undefined },
      { name: 'advisory still open', run: () => undefined },
      {
        name: 'advisory resolved; SharePoint operational',
        run: (t, s) => {
          t.resolveIssue(s.advisory!, 'serviceRestored');
          t.setServiceStatus('SharePoint', 'serviceOperational');
        },
      },
    ],
  },
  'expired-secret': {
    description:
      'The client secret expires (AADSTS7000222) for a while, then a new one works. The tokens issued before are revoked at ' +
      'the same moment, so the failure shows at once instead of at the next renewal (up to the token lifetime, 60-90 minutes).',
    steps: [
      { name: 'secret valid', run: (t) => t.clearFaults() },
      {
        name: 'secret expired (AADSTS7000222), tokens revoked',
        run: (t) => {
          t.setFault({ kind: 'tokenFailure', code: 'AADSTS7000222' });
          t.revokeTokens();
        },
      },
      { name: 'secret still expired', run: () => undefined },
      { name: 'secret still expired', run: () => undefined },
      { name: 'new secret', run: (t) => t.clearFaults() },
    ],
  },
  'throttling-storm': {
    description:
      'Graph answers 429 with Retry-After: first a burst of six (retries succeed), then every request for two steps ' +
      '(refreshes fail as throttled), then it recovers.',
    steps: [
      { name: 'burst: the next 6 requests answer 429, Retry-After 1 s', run: (t) => t.setFault({ kind: 'throttle', count: 6, retryAfterSeconds: 1 }) },
      { name: 'calm', run: (t) => t.clearFaults() },
      { name: 'storm: every request answers 429, Retry-After 1 s', run: (t) => t.setFault({ kind: 'throttle', retryAfterSeconds: 1 }) },
      { name: 'storm goes on', run: () => undefined },
      { name: 'calm', run: (t) => t.clearFaults() },
    ],
  },
  'graph-outage': {
    description: 'Graph fails: two steps of 503 Service Unavailable, then two steps without any answer (timeouts), then it is back.',
    steps: [
      { name: 'Graph healthy', run: (t) => t.clearFaults() },
      { name: 'Graph answers 503', run: (t) => t.setFault({ kind: 'serverError', status: 503 }) },
      { name: 'Graph still answers 503', run: () => undefined },
      {
        name: 'Graph stops answering',
        run: (t) => {
          t.clearFaults();
          t.setFault({ kind: 'slow', delayMs: 30_000 });
        },
      },
      { name: 'Graph still not answering', run: () => undefined },
      { name: 'Graph is back', run: (t) => t.clearFaults() },
    ],
  },
  'mfa-anomaly': {
    description:
      'MFA sign-in successes (Monitoring API) dropped to a fifth 30 minutes ago and stay there: the settled 5-minute buckets ' +
      'already show it when the exporter starts.',
    setup: (t) => t.setServiceActivityAnomaly('mfaSuccessDrop', { since: new Date(Date.now() - 30 * 60_000) }),
    steps: [{ name: 'MFA sign-in successes stay at a fifth', run: () => undefined }],
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
};

export interface RunScenarioOptions {
  /** Pause after each step. */
  stepMs: number;
  /** Repeat the steps until aborted. @default false */
  loop?: boolean;
  signal?: AbortSignal;
  /** Called as each step runs (the demo prints it). */
  onStep?: (step: ScenarioStep) => void;
  /**
   * The first step lasts until this settles and a whole step after: a watcher that starts slowly (an exporter on a
   * loaded machine) still sees the scenario from its start, rather than joining it mid-way or missing a step.
   */
  firstStepUntil?: Promise<unknown>;
}

/** Plays a scenario on one tenant; resolves when it ends or `signal` aborts (never rejects on abort). */
export async function runScenario(sim: Simulator, tenantId: string, name: string, options: RunScenarioOptions): Promise<void> {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario '${name}'; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const tenant = sim.tenant(tenantId);
  const { signal } = options;
  scenario.setup?.(tenant);
  let waitFor = options.firstStepUntil;
  do {
    const state: ScenarioState = {};
    for (const step of scenario.steps) {
      if (signal?.aborted) return;
      step.run(tenant, state);
      options.onStep?.(step);
      try {
        if (waitFor) await untilAborted(waitFor, signal);
        waitFor = undefined;
        await sleep(options.stepMs, undefined, { signal });
      } catch {
        return; // aborted
      }
    }
  } while (options.loop && !signal?.aborted);
}

/** Waits for `promise`, or rejects as soon as `signal` aborts; either way no listener stays behind. */
async function untilAborted(promise: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return void (await promise);
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }));
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
