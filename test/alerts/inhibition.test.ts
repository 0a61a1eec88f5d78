/**
 * alerts/alertmanager.yml in the real Alertmanager: inhibition is per tenant. One replica of contoso's HA pair is down
 * (M365ExporterDown for its instance; its partner still exports contoso), and no exporter exports fabrikam any more
 * (M365TenantNotExported, as the rules raise it when fabrikam's shard is down). contoso's warning must reach chat;
 * fabrikam's must be held; the inhibition-only alert must reach no one. Alerts are posted to the Alertmanager API as
 * Prometheus would post them, the inhibitor first; alerts/tests/ha-pair.test.yml covers when the rules raise them.
 * Alertmanager's inhibitor learns of new alerts asynchronously, so a group_wait of 0s could notify a target before its
 * inhibitor is known (the shipped 30s never does): the test waits 1s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertmanagerConfigFor, startAlertmanager, type RunningBinary } from '../helpers/binaries.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';

type Labels = Record<string, string>;
interface AmAlert { labels: Labels; status: { state: 'active' | 'suppressed' | 'unprocessed'; inhibitedBy: string[] } }

const exporterDown = { alertname: 'M365ExporterDown', severity: 'warning', job: 'm365-health-exporter', instance: 'm365-health-exporter-a-0:9877' };
const contosoDegraded = { alertname: 'M365ServiceDegradedByIncident', severity: 'warning', tenant: 'contoso', service_id: 'Exchange' };
const fabrikamNotExported = { alertname: 'M365TenantNotExported', severity: 'none', tenant: 'fabrikam' };
const fabrikamDegraded = { alertname: 'M365ServiceDegradedByIncident', severity: 'warning', tenant: 'fabrikam', service_id: 'Exchange' };
const fabrikamMfaDrop = { alertname: 'M365MfaSignInSuccessDrop', severity: 'warning', tenant: 'fabrikam', workload: 'entra', metric: 'get_metrics_for_mfa_sign_in_success' };

describe('Alertmanager inhibition with shards and HA pairs (alerts/alertmanager.yml)', () => {
  let webhook: WebhookReceiver;
  let alertmanager: RunningBinary;

  beforeAll(async () => {
    webhook = await startWebhookReceiver();
    alertmanager = await startAlertmanager(alertmanagerConfigFor(webhook, '1s'));
    const startsAt = new Date().toISOString();
    const post = async (alerts: Labels[]) => {
      const response = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(alerts.map((labels) => ({ labels, startsAt }))),
      });
      expect(response.status).toBe(200);
    };
    await post([fabrikamNotExported]);
    await post([exporterDown, contosoDegraded, fabrikamDegraded, fabrikamMfaDrop]);
  });

  afterAll(async () => {
    await Promise.allSettled([alertmanager?.stop(), webhook?.stop()]);
  });

  const stateOf = async (labels: Labels): Promise<AmAlert['status']> => {
    const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json()) as AmAlert[];
    const alert = alerts.find((a) => Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    if (!alert) throw new Error(`no alert ${JSON.stringify(labels)} in Alertmanager`);
    return alert.status;
  };

  it('delivers the warnings of a tenant an HA partner still exports, and the replica down, to chat', async () => {
    await waitFor('contoso\'s warning and the replica down at the chat webhook', () =>
      webhook.find('/chat', 'firing', contosoDegraded).length > 0 && webhook.find('/chat', 'firing', exporterDown).length > 0, 10_000, 50);
    expect((await stateOf(contosoDegraded)).state).toBe('active');
  });

  it('holds the warnings of the tenant no exporter exports any more, and tells no one about the inhibitor', async () => {
    for (const labels of [fabrikamDegraded, fabrikamMfaDrop]) {
      const status = await stateOf(labels);
      expect(status.state, labels.alertname).toBe('suppressed');
      expect(status.inhibitedBy, labels.alertname).toHaveLength(1);
    }
    expect((await stateOf(fabrikamNotExported)).state).toBe('active');
    // Several group intervals after contoso's delivery, nothing of fabrikam and no inhibitor was delivered anywhere.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const delivered: Labels[] = webhook.notifications.flatMap((n) => n.alerts.map((a) => ({ path: n.path, ...a.labels })));
    expect(delivered.filter((a) => a.tenant === 'fabrikam')).toEqual([]);
    expect(delivered.filter((a) => a.alertname === 'M365TenantNotExported')).toEqual([]);
  });
});
