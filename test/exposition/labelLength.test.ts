/**
 * A 100 KB title from Graph (an issue, a message-center post) becomes a label capped at MAX_LABEL_VALUE_LENGTH
 * characters with an ellipsis (src/model/labels.ts), the same on /metrics and in the OTLP export, and the exposition
 * stays valid for promtool.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LABEL_VALUE_LENGTH } from '../../src/model/labels.js';
import { writeTemp } from '../helpers/binaries.js';
import { select } from '../helpers/exposition.js';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { compareWithMetrics } from '../helpers/otlpCompare.js';
import { startStack, type Stack } from '../helpers/stack.js';

const run = promisify(execFile);
const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000801', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000801', clientSecret: 'contoso-labels-secret-8' };
// Quotes, backslashes and newlines all the way, so the cut falls among characters the exposition escapes.
const LONG_TITLE = `Exchange Online: "mail" \\ delayed\n${'users cannot send "mail" \\ from Outlook\n'.repeat(2_600)}`;
const EXPECTED = `${LONG_TITLE.slice(0, MAX_LABEL_VALUE_LENGTH - 1)}…`;

let stack: Stack<true>;
let issueId: string;
let messageId: string;

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 'default' }] },
    prepare: (sim) => {
      const tenant = sim.tenant(CONTOSO.tenantId);
      issueId = tenant.openIssue({ serviceId: 'Exchange', classification: 'incident', title: LONG_TITLE });
      messageId = tenant.addMessage({ title: LONG_TITLE, actionRequiredByDateTime: new Date(Date.now() + 10 * 86_400_000) });
    },
    otlp: true,
    config: ({ sim, otlp }) => ({
      // Long refresh intervals: the cache stays still, so /metrics and the export must agree.
      refresh: { health: '1h', issues: '1h', messages: '1h' },
      otlp: { endpoint: otlp.endpoint, interval: '1s', timeout: '1s' },
      tenants: [tenantConfig('contoso', sim, CONTOSO)],
    }),
  });
});

afterAll(() => stack?.stop());

describe('a 100 KB title', () => {
  it('is a label of 1024 characters ending in an ellipsis on /metrics, and promtool accepts the exposition', async () => {
    expect(LONG_TITLE.length).toBeGreaterThan(100_000);
    const text = await stack.exporter.scrape();
    const samples = (await import('../helpers/exposition.js')).parseExposition(text);
    expect(select(samples, 'm365_service_issue_info', { issue_id: issueId }).map((s) => s.labels.title)).toEqual([EXPECTED]);
    expect(select(samples, 'm365_message_center_action_required_by_timestamp_seconds', { message_id: messageId }).map((s) => s.labels.title)).toEqual([EXPECTED]);
    expect([...EXPECTED].length).toBe(MAX_LABEL_VALUE_LENGTH);
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeLessThan(3 * MAX_LABEL_VALUE_LENGTH);
    const file = writeTemp('long-title.prom', text);
    const result = await run('sh', ['-c', `promtool check metrics < ${file}`]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  });

  it('is the same capped attribute in the OTLP export, which equals /metrics', async () => {
    const scrapedAt = Date.now();
    const text = await stack.exporter.scrape();
    const received = await stack.otlp.nextExport(scrapedAt);
    expect(compareWithMetrics(text, received.metrics!).differences).toEqual([]);
    const info = received.metrics!.find((m) => m.name === 'm365_service_issue_info')!;
    expect(info.points.filter((p) => p.attributes.issue_id === issueId).map((p) => p.attributes.title)).toEqual([EXPECTED]);
  });
});
