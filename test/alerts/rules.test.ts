/** The rule file and the Alertmanager config pass the real promtool and amtool, and every alert is documented and tested. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MONITORING, runbookUrl } from '../../alerts/src/config.js';
import { RULES_FILE, RULES_SOURCE, renderRules } from '../../alerts/src/render.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = (command: string, args: string[]) => execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Rule { alert?: string; record?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const rules = (parse(readFileSync(`${ROOT}alerts/m365-rules.yml`, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);
const unitTests = readdirSync(`${ROOT}alerts/tests`).filter((f) => f.endsWith('.yml')).map((f) => `alerts/tests/${f}`);

describe('alerts/m365-rules.yml', () => {
  it('is what alerts/src/rules.yml renders to (run `npm run alerts`)', () => {
    expect(readFileSync(`${ROOT}${RULES_FILE}`, 'utf8'), `${RULES_FILE} is stale: run npm run alerts`).toBe(renderRules(ROOT));
  });

  it('takes the job selector from alerts/src/config.ts only: no source of rules or dashboards spells it', () => {
    const sources = [RULES_SOURCE, ...readdirSync(`${ROOT}dashboards/src`, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => `dashboards/src/${f}`)];
    for (const file of sources) expect(readFileSync(`${ROOT}${file}`, 'utf8'), file).not.toMatch(/\bjob\s*=~?\s*"/);
    expect(readFileSync(`${ROOT}${RULES_FILE}`, 'utf8')).toContain(`up{${MONITORING.jobSelector}} == 0`);
    // Rendered with another selector, the rules follow it.
    const renamed = renderRules(ROOT, { ...MONITORING, jobSelector: 'job="m365"' });
    expect(renamed).toContain('absent(up{job="m365"})');
    expect(renamed).not.toContain(MONITORING.jobSelector);
  });

  it('refuses a placeholder config.ts does not define, and a runbook_url written in the source', () => {
    const root = mkdtempSync(join(tmpdir(), 'm365-rules-'));
    mkdirSync(join(root, 'alerts/src'), { recursive: true });
    const write = (text: string) => writeFileSync(join(root, RULES_SOURCE), text);
    write('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up{%(instanceSelector)s} == 0\n        annotations:\n          summary: s\n');
    expect(() => renderRules(root)).toThrow(`${RULES_SOURCE}:5: unknown placeholder %(instanceSelector)s; the settings are jobSelector, runbookUrlPattern`);
    write('groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n        annotations:\n          runbook_url: x\n');
    expect(() => renderRules(root)).toThrow('runbook_url is added by the generator');
  });

  it('passes promtool check rules', () => {
    expect(run('promtool', ['check', 'rules', 'alerts/m365-rules.yml'])).toContain('SUCCESS');
  });

  it('passes promtool test rules', () => {
    expect(unitTests.length).toBeGreaterThan(0);
    run('promtool', ['test', 'rules', ...unitTests]); // throws with promtool's diff on failure
  }, 60_000); // the serviceActivity tests evaluate every rule over 8 days of 5-minute steps (~10 s)

  it('has a unit test where every alert fires and one where it stays silent', () => {
    const tests = unitTests.flatMap((file) => (parse(readFileSync(`${ROOT}${file}`, 'utf8')) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    }).tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const { alert } of alerts) {
      expect(tests.some((t) => t.alertname === alert && (t.exp_alerts?.length ?? 0) > 0), `${alert} fires in a test`).toBe(true);
      expect(tests.some((t) => t.alertname === alert && (t.exp_alerts?.length ?? 0) === 0), `${alert} has a negative test`).toBe(true);
    }
  });

  it('gives every alert a severity, a summary, a description and an absolute link to a runbook section that exists', () => {
    const runbook = readFileSync(`${ROOT}docs/runbook.md`, 'utf8');
    const anchors = new Set([...runbook.matchAll(/^## (\S+)/gm)].map((m) => m[1]!.toLowerCase()));
    for (const rule of alerts) {
      // info: configuration gaps (a Monitoring API function Graph refuses), routed to chat once a day; none: inhibition
      // only (M365TenantNotExported), routed nowhere.
      expect(['critical', 'warning', 'info', 'none'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook_url).toBe(runbookUrl(rule.alert!));
      expect(rule.annotations?.runbook_url).toMatch(/^https:\/\/[^/]+\/.*\/docs\/runbook\.md#[a-z0-9]+$/);
      expect(anchors, `docs/runbook.md has a section "## ${rule.alert}"`).toContain(rule.alert!.toLowerCase());
    }
  });

  it('documents every alert in docs/dashboards-and-alerts.md', () => {
    const doc = readFileSync(`${ROOT}docs/dashboards-and-alerts.md`, 'utf8');
    for (const { alert } of alerts) expect(doc, alert).toContain(alert);
  });
});

describe('alerts/alertmanager.yml', () => {
  it('passes amtool check-config', () => {
    expect(run('amtool', ['check-config', 'alerts/alertmanager.yml'])).toContain('SUCCESS');
  });

  it('routes critical to the pager and warning to chat, grouped by tenant and service', () => {
    const config = parse(readFileSync(`${ROOT}alerts/alertmanager.yml`, 'utf8')) as { route: { group_by: string[]; routes: Array<{ receiver: string; matchers: string[] }> } };
    expect(config.route.group_by).toEqual(['tenant', 'service_id']);
    const receiverOf = (severity: string) => config.route.routes.find((r) => r.matchers.includes(`severity="${severity}"`))?.receiver;
    expect(receiverOf('critical')).toBe('pager');
    expect(receiverOf('warning')).toBe('chat');
    const routed = (severity: string) => run('amtool', ['config', 'routes', 'test', '--config.file=alerts/alertmanager.yml', `severity=${severity}`, 'tenant=contoso', 'service_id=Exchange']).trim();
    expect(routed('critical')).toBe('pager');
    expect(routed('warning')).toBe('chat');
    expect(routed('info')).toBe('chat');
    expect(routed('none')).toBe('inhibition-only');
    expect(parse(readFileSync(`${ROOT}alerts/alertmanager.yml`, 'utf8')).receivers.find((r: { name: string }) => r.name === 'inhibition-only')).toEqual({ name: 'inhibition-only' });
  });

  it('inhibits per tenant: no exporter, shard or replica down mutes the alerts of tenants it did not export', () => {
    const config = parse(readFileSync(`${ROOT}alerts/alertmanager.yml`, 'utf8')) as { inhibit_rules: Array<{ source_matchers: string[]; equal?: string[] }> };
    for (const rule of config.inhibit_rules) expect(rule.equal ?? [], rule.source_matchers.join()).toContain('tenant');
    expect(config.inhibit_rules.some((rule) => rule.source_matchers.includes('alertname="M365ExporterDown"'))).toBe(false);
  });

  it('holds serviceActivity anomalies while their telemetry is stale, the exporter cannot refresh it or no exporter exports the tenant', () => {
    const config = parse(readFileSync(`${ROOT}alerts/alertmanager.yml`, 'utf8')) as { inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal?: string[] }> };
    const anomalies = ['M365MfaSignInSuccessDrop', 'M365ServiceActivityCountDrop', 'M365ExchangeConnectivityDrop', 'M365TeamsAudioQualityDrop'];
    const inhibitedBy = (source: string[], target: string) => config.inhibit_rules.some((rule) =>
      source.every((m) => rule.source_matchers.includes(m))
      && rule.target_matchers.some((m) => { const match = /^alertname=~"(.*)"$/.exec(m); return match !== null && new RegExp(`^(?:${match[1]})$`).test(target); }));
    for (const alert of anomalies) {
      expect(inhibitedBy(['alertname="M365ServiceActivityStale"'], alert), alert).toBe(true);
      expect(inhibitedBy(['alertname="M365DataStale"', 'collector="serviceActivity"'], alert), alert).toBe(true);
      expect(inhibitedBy(['alertname="M365TenantNotExported"'], alert), alert).toBe(true);
      expect(alerts.some((a) => a.alert === alert), `${alert} exists in the rules`).toBe(true);
    }
  });
});
