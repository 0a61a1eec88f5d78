/**
 * What a demo scenario promises to show, as conditions on the exporter's /metrics: each is printed as PromQL on the
 * landing page and checked by the demo itself against every scrape it makes, so the page says when it was first seen
 * (and test/integration/demo.test.ts waits for the "all seen" line).
 */

/** A series selector: the metric name and the labels it must have (others may be present). */
export interface Series {
  name: string;
  labels: Record<string, string>;
}

/** `series op number`, `series < factor × other` (matched ignoring tenant), or no such series at all. */
export type Condition =
  | { series: Series; op: '==' | '>' | '<'; than: number }
  | { series: Series; op: '<'; than: Series; factor: number }
  | { series: Series; op: 'absent' };

export interface Signal {
  /** What it shows, in one sentence. */
  what: string;
  /** All must hold in the same scrape. */
  all: Condition[];
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function series(name: string, labels: Record<string, string> = {}): Series {
  return { name, labels };
}

function selector({ name, labels }: Series): string {
  const matchers = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return matchers.length > 0 ? `${name}{${matchers.join(',')}}` : name;
}

export function promql(condition: Condition): string {
  if (condition.op === 'absent') return `absent(${selector(condition.series)})`;
  if (typeof condition.than === 'number') return `${selector(condition.series)} ${condition.op} ${condition.than}`;
  const factor = 'factor' in condition && condition.factor !== 1 ? `${condition.factor} * ` : '';
  return `${selector(condition.series)} ${condition.op} ignoring(tenant) ${factor}${selector(condition.than)}`;
}

/** Text exposition format 0.0.4 into samples (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function matching(samples: readonly Sample[], { name, labels }: Series): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
}

/** Whether the condition holds, as PromQL would answer: some matching series satisfies it (absent: none exists). */
export function holds(condition: Condition, samples: readonly Sample[]): boolean {
  const found = matching(samples, condition.series);
  if (condition.op === 'absent') return found.length === 0;
  const limit = typeof condition.than === 'number' ? condition.than : matching(samples, condition.than)[0]?.value;
  if (limit === undefined) return false;
  const bound = 'factor' in condition ? condition.factor * limit : limit;
  return found.some((s) => (condition.op === '==' ? s.value === bound : condition.op === '>' ? s.value > bound : s.value < bound));
}

/**
 * The values behind a condition, for the page: `0`, `absent`, `12 vs 61`, or with the first label the selector
 * leaves open, `collector=health 4, collector=issues 4, …`.
 */
export function shown(condition: Condition, samples: readonly Sample[]): string {
  const values = (s: Series): string => {
    const found = matching(samples, s);
    if (found.length === 0) return 'absent';
    const one = (f: Sample) => {
      const open = Object.entries(f.labels).find(([key]) => !(key in s.labels));
      return open && found.length > 1 ? `${open[0]}=${open[1]} ${f.value}` : String(f.value);
    };
    return found.slice(0, 4).map(one).join(', ') + (found.length > 4 ? ', …' : '');
  };
  return 'factor' in condition ? `${values(condition.series)} vs ${values(condition.than)}` : values(condition.series);
}
