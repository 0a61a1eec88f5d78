import { gzip as gzipCallback, gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import type { Registry } from 'prom-client';
import type { Labels } from '../collectors/types.js';
import { METRICS, type MetricDefinition } from '../model/metrics.js';
import type { SeriesGroup, Tenant } from '../runtime/tenant.js';

/** What the exposition needs of a tenant: its name, its series groups, and word of their changes. */
export type ExposedTenant = Pick<Tenant, 'name' | 'groups' | 'onChange'>;
import { LineWriter, renderHeader, renderSample, type ExpositionFormat, type FamilyHeader } from './render.js';

const gzip = promisify(gzipCallback);
/** Gzip of what is rendered at scrape time (small: budgets, process metrics); speed over size. */
const SCRAPE_TIME_GZIP = { level: 1 };

/**
 * Rendered lines of one family of one tenant, with their gzip member. A gzip file may hold several members, and a
 * reader inflates them as one stream (RFC 1952 §2.2; Go's gzip.Reader, which Prometheus uses, reads multistream by
 * default), so a compressed scrape concatenates members compressed once, when the lines were rendered.
 */
interface Chunk {
  readonly text: Buffer;
  readonly gzip: Buffer;
}

interface TenantEntry {
  readonly tenant: ExposedTenant;
  /** Family name → the tenant's rendered lines of it. Every family comes from exactly one group. */
  readonly chunks: Map<string, Chunk>;
  /** What each group wrote when it was last rendered, and the version that rendering showed. */
  readonly rendered: Map<SeriesGroup, { version: number; families: string[] }>;
}

interface Header {
  readonly text: Record<ExpositionFormat, Buffer>;
  readonly gzip: Record<ExpositionFormat, Buffer>;
}

export interface ScrapeRequest {
  format: ExpositionFormat;
  gzip: boolean;
  /** One tenant (`/probe`), or every tenant and the exporter-wide families (`/metrics`). */
  tenant?: string;
}

const TENANT_FAMILIES: readonly MetricDefinition[] = Object.values(METRICS);
const EOF = Buffer.from('# EOF\n');
const EOF_GZIP = gzipSync(EOF);

function headerOf(family: FamilyHeader): Header {
  const text = { text: Buffer.from(renderHeader(family, 'text')), openmetrics: Buffer.from(renderHeader(family, 'openmetrics')) };
  return { text, gzip: { text: gzipSync(text.text), openmetrics: gzipSync(text.openmetrics) } };
}

/** Parts at least this large are written as they are; smaller neighbours are joined up to it. */
const COALESCE_BYTES = 16 * 1024;

/**
 * Joins runs of small buffers (a tenant's one-line families, gzip members of a few hundred bytes) into buffers of
 * about COALESCE_BYTES: a write costs the same for 100 bytes as for 16 KiB, and a fleet has tens of thousands of
 * small parts. Large parts are not copied.
 */
function coalesce(parts: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const flush = () => {
    if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const part of parts) {
    if (part.length >= COALESCE_BYTES) {
      flush();
      out.push(part);
      continue;
    }
    run.push(part);
    runBytes += part.length;
    if (runBytes >= COALESCE_BYTES) flush();
  }
  flush();
  return out;
}

/** Lets the event loop serve pending I/O (scrapes, health checks) before the next render. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What /metrics and /probe serve, kept as bytes (kube-state-metrics' metrics store): when a refresh changes a group
 * of a tenant, that group is rendered to text and gzipped (in libuv's thread pool), and only then swapped in, whole:
 * a scrape never renders, never waits for a compression, and always sees complete renderings. Renders run one at a
 * time with the event loop free between them, so a burst of refreshes finishing together cannot stall scrapes or
 * health checks. Only what follows the clock (request budgets) and the process metrics are rendered at scrape time.
 */
export class ExpositionStore {
  readonly #tenants = new Map<string, TenantEntry>();
  readonly #headers = new Map(TENANT_FAMILIES.map((family) => [family.name, headerOf(family)]));
  /** Groups waiting to be rendered, each once, in order of their changes. */
  readonly #queue = new Map<SeriesGroup, TenantEntry>();
  #draining?: Promise<void>;

  constructor(private readonly globalRegistry: Registry) {}

  /** Starts serving a tenant: renders what it has now, then every group its refreshes change. */
  add(tenant: ExposedTenant): void {
    const entry: TenantEntry = { tenant, chunks: new Map(), rendered: new Map() };
    this.#tenants.set(tenant.name, entry);
    this.#enqueue(entry, tenant.groups.filter((group) => !group.volatile));
    tenant.onChange((changed) => this.#enqueue(entry, changed));
  }

  remove(name: string): void {
    this.#tenants.delete(name);
  }

  has(name: string): boolean {
    return this.#tenants.has(name);
  }

  /** Whether every group of the tenant that has data has been rendered at least once (for readiness). */
  rendered(name: string): boolean {
    const entry = this.#tenants.get(name);
    return entry !== undefined && entry.tenant.groups.every((group) => group.volatile || group.version === 0 || (entry.rendered.get(group)?.version ?? 0) > 0);
  }

  /** Resolves once every change announced so far is rendered and swapped in. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /**
   * The response body as a list of buffers, each family's header once and then every tenant's lines of it. The list
   * is taken at once, so a render swapped in during the write cannot mix two renderings of a family.
   */
  async body({ format, gzip: compressed, tenant }: ScrapeRequest): Promise<Buffer[]> {
    const entries = tenant === undefined ? [...this.#tenants.values()] : [this.#tenants.get(tenant)!];
    const global = tenant === undefined ? await this.#global(format) : undefined;
    const volatile = this.#renderVolatile(entries);
    const parts: Buffer[] = [];
    const gzipped = (text: Buffer) => gzipSync(text, SCRAPE_TIME_GZIP);
    if (global) parts.push(compressed ? gzipped(global) : global);
    for (const family of TENANT_FAMILIES) {
      const header = this.#headers.get(family.name)!;
      parts.push(compressed ? header.gzip[format] : header.text[format]);
      for (const entry of entries) {
        const chunk = entry.chunks.get(family.name);
        if (chunk) parts.push(compressed ? chunk.gzip : chunk.text);
      }
      const lines = volatile.get(family.name);
      if (lines) parts.push(compressed ? gzipped(lines) : lines);
    }
    if (format === 'openmetrics') parts.push(compressed ? EOF_GZIP : EOF);
    // A compressed body is a few MiB even for a large fleet: one copy into a single buffer costs less than thousands of
    // writes. Plain text is ten times larger: only small neighbours are joined.
    return compressed ? [Buffer.concat(parts)] : coalesce(parts);
  }

  #enqueue(entry: TenantEntry, groups: SeriesGroup[]): void {
    for (const group of groups) this.#queue.set(group, entry);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  async #drain(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    do {
      while (this.#queue.size > 0) {
        const [group, entry] = this.#queue.entries().next().value!;
        this.#queue.delete(group);
        if (this.#tenants.get(entry.tenant.name) !== entry) continue; // removed (or replaced by a reload)
        const swap = this.#render(entry, group);
        inFlight.add(swap);
        void swap.finally(() => inFlight.delete(swap));
        await yieldToIo();
      }
      await Promise.all(inFlight);
    } while (this.#queue.size > 0);
  }

  /** Renders one group to text, compresses each family, then swaps them in unless a newer rendering already was. */
  async #render(entry: TenantEntry, group: SeriesGroup): Promise<void> {
    const version = group.version;
    const out = new LineWriter({ tenant: entry.tenant.name });
    group.write(out);
    const texts = [...out.families].map(([family, text]) => [family, Buffer.from(text)] as const);
    const chunks = await Promise.all(texts.map(async ([family, text]) => [family, { text, gzip: await gzip(text) }] as const));
    const previous = entry.rendered.get(group);
    if (previous && previous.version > version) return;
    for (const family of previous?.families ?? []) if (!out.families.has(family)) entry.chunks.delete(family);
    for (const [family, chunk] of chunks) entry.chunks.set(family, chunk);
    entry.rendered.set(group, { version, families: texts.map(([family]) => family) });
  }

  /** Families that follow the clock, every tenant's lines in one buffer per family. */
  #renderVolatile(entries: TenantEntry[]): Map<string, Buffer> {
    const lines = new Map<string, string>();
    for (const entry of entries) {
      const out = new LineWriter({ tenant: entry.tenant.name });
      for (const group of entry.tenant.groups) if (group.volatile) group.write(out);
      for (const [family, text] of out.families) lines.set(family, (lines.get(family) ?? '') + text);
    }
    return new Map([...lines].map(([family, text]) => [family, Buffer.from(text)]));
  }

  /** Build info, OTLP exports and the Node.js process metrics (prom-client's collectors), rendered by the same code. */
  async #global(format: ExpositionFormat): Promise<Buffer> {
    let text = '';
    for (const family of await this.globalRegistry.getMetricsAsJSON()) {
      text += renderHeader({ name: family.name, help: family.help, type: String(family.type) }, format);
      for (const { metricName, labels, value } of family.values as Array<{ metricName?: string; labels: Labels; value: number }>) {
        text += renderSample(metricName ?? family.name, '', labels, value);
      }
    }
    return Buffer.from(text);
  }
}
