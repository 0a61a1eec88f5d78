/**
 * `npm run demo` in its scenarios about service health and the Monitoring API (the faults are in
 * ./demoFaults.test.ts, so the two files run side by side): each shows within a minute what its landing page promises.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMON_SIGNALS, DEMO_SCENARIOS } from '../../simulator/demo/scenarios.js';
import { promql } from '../../simulator/demo/signals.js';
import { BUILD_INFO, METRICS, OTLP_EXPORTS } from '../../src/model/metrics.js';
import { startPrometheus } from '../helpers/binaries.js';
import { runDemoScenario, type ScenarioRun } from '../helpers/demoProcess.js';
import { familyNames, value } from '../helpers/exposition.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

/** The Monitoring API family and label of MFA sign-in successes, as src/model/metrics.ts names them today. */
const MFA_SUCCESS = { family: 'm365_service_activity_bucket_events', labels: { metric: 'get_metrics_for_mfa_sign_in_success' } };

const report = (scenario: string, run: ScenarioRun) =>
  console.info(`demo ${scenario}: what the test checks shown after ${(run.shownAfterMs / 1000).toFixed(1)} s, every signal of its page after ${run.allSeenAfterS} s`);

// The promise is checked from the demo's start (60 s, runDemoScenario); the test also starts and stops it.
describe('npm run demo', { timeout: 90_000 }, () => {
  it('incident-lifecycle (the default): every metric family, an open incident, on a pinned simulator port', async () => {
    const simulatorPort = await freePort();
    const run = await runDemoScenario('incident-lifecycle', 2_000, (samples, text) => {
      const families = familyNames(text);
      return [...Object.values(METRICS), BUILD_INFO, OTLP_EXPORTS].every((def) => families.includes(def.name))
        && value(samples, 'm365_service_issues_open', { tenant: 'contoso', service_id: 'Exchange', classification: 'incident' })! > 0
        && value(samples, 'm365_exporter_otlp_exports_total', { result: 'success' })! > 0;
    }, { DEMO_SIMULATOR_PORT: String(simulatorPort) });
    report('incident-lifecycle', run);
    expect(run.output).toContain(`https://127.0.0.1:${simulatorPort}`);
    expect(run.output).toMatch(/^demo: contoso: open Exchange incident$/m);
  });

  it('advisory-only: a service not operational with no open incident, only an advisory', async () => {
    const sharePoint = { tenant: 'contoso', service_id: 'SharePoint' };
    const run = await runDemoScenario('advisory-only', 2_000, (samples) =>
      value(samples, 'm365_service_operational', sharePoint) === 0
      && value(samples, 'm365_service_issues_open', { ...sharePoint, classification: 'incident' }) === 0
      && value(samples, 'm365_service_issues_open', { ...sharePoint, classification: 'advisory' })! > 0);
    report('advisory-only', run);
  });

  it('mfa-anomaly: contoso\'s MFA sign-in successes below half of fabrikam\'s, a tenant of the same size', async () => {
    const mfa = (tenant: string, samples: Parameters<typeof value>[0]) => value(samples, MFA_SUCCESS.family, { tenant, ...MFA_SUCCESS.labels });
    const run = await runDemoScenario('mfa-anomaly', 2_000, (samples) => {
      const [contoso, fabrikam] = [mfa('contoso', samples), mfa('fabrikam', samples)];
      return contoso !== undefined && fabrikam !== undefined && fabrikam > 0 && contoso < 0.5 * fabrikam;
    }, {}, async (demo) => {
      // The PromQL the landing page gives answers in the real Prometheus too, comparison across tenants included.
      const prometheus = await startPrometheus({ scrape: [{ job: 'm365-health-exporter', target: new URL(demo.exporterUrl).host }] });
      try {
        for (const condition of [...DEMO_SCENARIOS['mfa-anomaly']!.signals, ...COMMON_SIGNALS].flatMap((s) => s.all)) {
          await waitFor(`Prometheus to answer ${promql(condition)}`, async () => (await prometheus.query(promql(condition))).length === 1, 15_000, 250);
        }
      } finally {
        await prometheus.stop();
        rmSync(prometheus.dir, { recursive: true, force: true });
      }
    });
    report('mfa-anomaly', run);
  });
});
