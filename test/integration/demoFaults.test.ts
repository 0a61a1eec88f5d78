/**
 * `npm run demo` in its fault scenarios (./demo.test.ts has the others): each shows within a minute what its landing
 * page promises, on contoso only.
 */
import { describe, it } from 'vitest';
import { runDemoScenario, type ScenarioRun } from '../helpers/demoProcess.js';
import { select, value, type ParsedSample } from '../helpers/exposition.js';

const report = (scenario: string, run: ScenarioRun) =>
  console.info(`demo ${scenario}: what the test checks shown after ${(run.shownAfterMs / 1000).toFixed(1)} s, every signal of its page after ${run.allSeenAfterS} s`);
const sum = (samples: ParsedSample[], name: string, labels: Record<string, string>) => select(samples, name, labels).reduce((n, s) => n + s.value, 0);
const contosoData = (samples: ParsedSample[]) => select(samples, 'm365_service_info', { tenant: 'contoso' }).length;
const healthSuccess = (samples: ParsedSample[], tenant: string) => value(samples, 'm365_exporter_collector_success', { tenant, collector: 'health' });

// The promise is checked from the demo's start (60 s, runDemoScenario); the test also starts and stops it.
describe('npm run demo, fault scenarios', { timeout: 90_000 }, () => {
  it('throttling-storm: 429s counted, refreshes failing as throttled', async () => {
    const run = await runDemoScenario('throttling-storm', 4_000, (samples) =>
      sum(samples, 'm365_exporter_graph_throttled_total', { tenant: 'contoso' }) > 0
      && sum(samples, 'm365_exporter_collector_errors_total', { tenant: 'contoso', reason: 'throttled' }) > 0
      && sum(samples, 'm365_exporter_graph_throttled_total', { tenant: 'fabrikam' }) === 0);
    report('throttling-storm', run);
  });

  it('expired-secret: the AADSTS code, refreshes failing with reason auth, the last good data kept', async () => {
    const run = await runDemoScenario('expired-secret', 2_000, (samples) =>
      value(samples, 'm365_exporter_token_error_info', { tenant: 'contoso', error_code: 'AADSTS7000222' }) === 1
      && sum(samples, 'm365_exporter_collector_errors_total', { tenant: 'contoso', reason: 'auth' }) > 0
      && healthSuccess(samples, 'contoso') === 0
      && contosoData(samples) > 0
      && select(samples, 'm365_exporter_token_error_info', { tenant: 'fabrikam' }).length === 0);
    report('expired-secret', run);
  });

  it('graph-outage: collector_success 0 with the last good data, then the data dropped after maxStaleness', async () => {
    let staleSeen = false;
    const run = await runDemoScenario('graph-outage', 8_000, (samples) => {
      if (healthSuccess(samples, 'contoso') !== 0) return false;
      if (contosoData(samples) > 0) staleSeen = true;
      return staleSeen && contosoData(samples) === 0 && healthSuccess(samples, 'fabrikam') === 1;
    });
    report('graph-outage', run);
  });
});
