/**
 * The demo's landing page: which scenario runs, what to look for (PromQL, URLs) and whether it has shown yet. Served by
 * the demo process on its own port (the exporter's own `/` is the exporter's), and printed as text at start.
 */
import { createServer, type Server } from 'node:http';
import { DEMO_SCENARIOS, type DemoScenario } from './scenarios.js';
import { promql, type Signal } from './signals.js';

export interface SignalStatus {
  signal: Signal;
  /** Milliseconds from the demo's start to the first scrape in which it held. */
  seenAfterMs?: number;
  /** Whether it holds in the latest scrape, and the values behind each condition. */
  holds: boolean;
  values: string[];
}

export interface DemoView {
  scenario: string;
  definition: DemoScenario;
  stepMs: number;
  urls: { exporter: string; simulator: string; otlp: string; page: string };
  /** The step each tenant's scenario is at. */
  steps: Map<string, string>;
  signals: SignalStatus[];
  /** The exporter's settings (YAML, tenants left out). */
  config: string;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function links(view: DemoView): Array<[string, string]> {
  const { exporter } = view.urls;
  return [
    ['Exporter landing page', `${exporter}/`],
    ['All tenants', `${exporter}/metrics`],
    ['contoso only (multi-target)', `${exporter}/probe?tenant=contoso`],
    ['fabrikam only', `${exporter}/probe?tenant=fabrikam`],
    ['Daily history of contoso (JSON, from the history store)', `${exporter}/api/v1/history?tenant=contoso&days=7`],
    ['The retired API\'s CurrentStatus, as old scripts call it', `${exporter}/api/v1.0/contoso/ServiceComms/CurrentStatus`],
    ['The retired API\'s Messages', `${exporter}/api/v1.0/contoso/ServiceComms/Messages`],
    ['Atom feed of issues, all tenants', `${exporter}/feeds/issues.atom`],
    ['Atom feed of message-center posts', `${exporter}/feeds/messages.atom`],
  ];
}

function playing(view: DemoView): string[] {
  const played = view.definition.plays.map((p) => `${p.tenant} plays "${p.scenario}" (a step every ${seconds(view.stepMs * (p.stepFactor ?? 1))})`);
  if (!view.definition.plays.some((p) => p.tenant === 'fabrikam')) played.push('fabrikam is left alone: the yardstick');
  return played;
}

export function renderText(view: DemoView): string {
  const { definition: d } = view;
  const lines = [
    `m365-health-exporter demo, scenario "${view.scenario}"`,
    `  ${d.summary}`,
    ...playing(view).map((p) => `  ${p}`),
    '',
    ...links(view).map(([what, url]) => `  ${what.padEnd(30)} ${url}`),
    `  ${'Simulated Graph and Entra ID'.padEnd(30)} ${view.urls.simulator}`,
    `  ${'OTLP receiver (http/json)'.padEnd(30)} ${view.urls.otlp}  (a line per export below)`,
    `  ${'This overview, live'.padEnd(30)} ${view.urls.page}`,
    '',
    'What to look for (PromQL; or curl /metrics and grep the series):',
    ...view.signals.flatMap(({ signal }) => [`  - ${signal.what}`, ...signal.all.map((c) => `      ${promql(c)}`)]),
    ...(d.notes ?? []).map((n) => `  Note: ${n}`),
    ...(d.configWhy ? [`  The exporter runs with ${d.configWhy}.`] : []),
    '',
    `Other scenarios: npm run demo -- --scenario NAME (or DEMO_SCENARIO=NAME): ${Object.keys(DEMO_SCENARIOS).filter((n) => n !== view.scenario).join(', ')}`,
    'Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderHtml(view: DemoView): string {
  const { definition: d } = view;
  const rows = view.signals.map((s) => `<tr class="${s.seenAfterMs === undefined ? 'waiting' : 'seen'}">
<td>${escape(s.signal.what)}</td>
<td>${s.signal.all.map((c) => `<code>${escape(promql(c))}</code>`).join('<br>')}</td>
<td>${s.values.map(escape).join('<br>')}</td>
<td>${s.seenAfterMs === undefined ? 'not yet' : `seen after ${seconds(s.seenAfterMs)}${s.holds ? '' : ' (not now)'}`}</td>
</tr>`).join('\n');
  const others = Object.entries(DEMO_SCENARIOS)
    .map(([name, other]) => `<li>${name === view.scenario ? '<b>' : ''}<code>npm run demo -- --scenario ${escape(name)}</code>${name === view.scenario ? ' (running)</b>' : ''}: ${escape(other.summary)}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>m365-health-exporter demo: ${escape(view.scenario)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:75rem;margin:1rem auto;padding:0 1rem}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
table{border-collapse:collapse}tr.seen td:last-child{color:#176f2c}tr.waiting td:last-child{color:#8a5a00}code{font-size:.85rem}</style></head>
<body>
<h1>Demo scenario: ${escape(view.scenario)}</h1>
<p>${escape(d.summary)}</p>
<ul>${playing(view).map((p) => `<li>${escape(p)}</li>`).join('')}${[...view.steps].map(([tenant, step]) => `<li>${escape(tenant)} now: ${escape(step)}</li>`).join('')}</ul>
<h2>Where</h2>
<ul>${links(view).map(([what, url]) => `<li>${escape(what)}: <a href="${escape(url)}">${escape(url)}</a></li>`).join('')}
<li>OTLP receiver (http/json): <code>${escape(view.urls.otlp)}</code>, the demo's terminal prints a line per export</li>
<li>Simulated Graph and Entra ID: <code>${escape(view.urls.simulator)}</code></li></ul>
<h2>What to look for</h2>
<p>Paste the PromQL into a Prometheus that scrapes the exporter, or <code>curl -s ${escape(view.urls.exporter)}/metrics | grep …</code>.
The demo checks each line against <code>/metrics</code> itself; this page reloads every 5 seconds.</p>
<table><tr><th>What</th><th>PromQL (all at once)</th><th>Now</th><th>Status</th></tr>
${rows}</table>
${(d.notes ?? []).map((n) => `<p>${escape(n)}</p>`).join('\n')}
<h2>The exporter's settings</h2>
${d.configWhy ? `<p>With ${escape(d.configWhy)}.</p>` : ''}
<pre>${escape(view.config)}</pre>
<h2>Scenarios</h2>
<ul>${others}</ul>
</body></html>
`;
}

export async function startDemoPage(host: string, port: number, view: () => DemoView): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found; the demo page is at /\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderHtml(view()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
