import type { Labels, SampleWriter } from '../collectors/types.js';
import { capLabelValue } from '../model/labels.js';
import type { MetricDefinition } from '../model/metrics.js';

/**
 * The text formats, written straight from metric definitions and samples (no client library round trip):
 * Prometheus text 0.0.4 and OpenMetrics 1.0.0. Both share the sample lines; they differ in the headers (an
 * OpenMetrics counter family is named without `_total`) and the `# EOF` terminator.
 * https://prometheus.io/docs/instrumenting/exposition_formats/ and https://prometheus.io/docs/specs/om/open_metrics_spec/
 */
export type ExpositionFormat = 'text' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  text: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** A family as the headers need it: what a MetricDefinition or a prom-client family both provide. */
export interface FamilyHeader {
  readonly name: string;
  readonly help: string;
  readonly type: string;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Label values escape backslash, newline and double quote (both formats). */
export function escapeLabelValue(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : value;
}

/** HELP escapes backslash and newline; OpenMetrics also double quotes (its HELP is an escaped string). */
function escapeHelp(help: string, format: ExpositionFormat): string {
  const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

/** `NaN`, `+Inf`, `-Inf`, else the shortest round-trip decimal (what Go's ParseFloat reads back exactly). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export function renderHeader(family: FamilyHeader, format: ExpositionFormat): string {
  const name = format === 'openmetrics' && family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
  return `# HELP ${name} ${escapeHelp(family.help, format)}\n# TYPE ${name} ${family.type}\n`;
}

/**
 * One sample line; `fixed` is the already rendered label prefix shared by a tenant's samples (`tenant="x"`). Label
 * values are capped (src/model/labels.ts) as the OTLP gather caps them.
 */
export function renderSample(name: string, fixed: string, labels: Labels, value: number): string {
  let line = `${name}{${fixed}`;
  let first = fixed === '';
  for (const key in labels) {
    // String(): prom-client's families (the exporter-wide ones) carry numbers too, such as histogram bounds.
    line += `${first ? '' : ','}${key}="${escapeLabelValue(capLabelValue(String(labels[key])))}"`;
    first = false;
  }
  return first ? `${name} ${formatValue(value)}\n` : `${line}} ${formatValue(value)}\n`;
}

/**
 * A SampleWriter that renders each sample to its line at once, grouped by family: the only copy of a series is its
 * line. `fixedLabels` (the tenant) come first in every line, as the series were always written.
 */
export class LineWriter implements SampleWriter {
  readonly families = new Map<string, string>();
  readonly #fixed: string;

  constructor(fixedLabels: Labels = {}) {
    this.#fixed = Object.entries(fixedLabels).map(([key, value]) => `${key}="${escapeLabelValue(capLabelValue(value))}"`).join(',');
  }

  add(metric: MetricDefinition, labels: Labels, value: number, suffix = ''): void {
    this.families.set(metric.name, (this.families.get(metric.name) ?? '') + renderSample(metric.name + suffix, this.#fixed, labels, value));
  }
}
