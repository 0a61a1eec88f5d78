/**
 * What a deployment may have to change in the rules and dashboards, in one place (kubernetes-mixin's `_config`):
 * `npm run alerts` inserts it into alerts/m365-rules.yml (and through it the Kubernetes PrometheusRule), `npm run
 * dashboards` into every dashboard. Change a value here, run `npm run generate`, and the tests hold every generated
 * file to it.
 */
export interface MonitoringConfig {
  /**
   * Label matcher of the exporter's scrape job, without braces; the rules read it as `%(jobSelector)s`. Prometheus
   * Operator's ServiceMonitor names the job after the Service (deploy/kubernetes: `m365-health-exporter`).
   * @default 'job="m365-health-exporter"'
   */
  jobSelector: string;
  /**
   * Where an alert's `runbook_url` points: `%s` is the alert name in lowercase, the anchor of its section of
   * docs/runbook.md (kubernetes-mixin's `runbookURLPattern`). Set `<org>` to the GitHub organisation (or the whole
   * base to wherever your copy of the repository is served) when you publish the rules.
   * @default 'https://github.com/<org>/m365-health-exporter/blob/main/docs/runbook.md#%s'
   */
  runbookUrlPattern: string;
}

export const MONITORING: MonitoringConfig = {
  jobSelector: 'job="m365-health-exporter"',
  runbookUrlPattern: 'https://github.com/<org>/m365-health-exporter/blob/main/docs/runbook.md#%s',
};

/** The runbook link of an alert. */
export function runbookUrl(alert: string, config: MonitoringConfig = MONITORING): string {
  return config.runbookUrlPattern.replace('%s', alert.toLowerCase());
}
