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

/**
 * Rendered lines of one family of one tenant, with their gzip member. A gzip file may hold several members, and a
 * reader inflates them as one stream (RFC 1952 §2.2; Go's gzip.Reader, which Prometheus uses, reads multistream by
 * default), so a compressed scrape concatenates members compressed once, when the lines were rendered.
 */
interface Chunk {
  readonly text: Buffer;
  readonly gzip: Promise<Buffer>;
}

function chunkOf(text: string): Chunk {
  const bytes = Buffer.from(text);
  const compressed = gzip(bytes);
  compressed.catch(() => undefined); // awaited by the scrape that needs it; never an unhandled rejection
  return { text: bytes, gzip: compressed };
}

interface TenantEntry {
  readonly tenant: ExposedTenant;
  /** Family name → the tenant's rendered lines of it. Every family comes from exactly one group. */
  readonly chunks: Map<string, Chunk>;
  /** What each group wrote when it was last rendered. */
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

/**
 * What /metrics and /probe serve, kept as bytes (kube-state-metrics' metrics store): each tenant's families are
 * rendered when a refresh changes them, headers once at start, so a scrape only lists buffers to write. Only what
 * follows the clock (request budgets) and the exporter-wide process metrics are rendered at scrape time.
 */
export class ExpositionStore {
  readonly #tenants = new Map<string, TenantEntry>();
  readonly #headers = new Map(TENANT_FAMILIES.map((family) => [family.name, headerOf(family)]));

  constructor(private readonly globalRegistry: Registry) {}

  /** Starts serving a tenant: renders what it has now, then every group its refreshes change. */
  add(tenant: ExposedTenant): void {
    const entry: TenantEntry = { tenant, chunks: new Map(), rendered: new Map() };
    this.#tenants.set(tenant.name, entry);
    this.#render(entry, tenant.groups.filter((group) => !group.volatile));
    tenant.onChange((changed) => {
      if (this.#tenants.get(tenant.name) === entry) this.#render(entry, changed);
    });
  }

  remove(name: string): void {
    this.#tenants.delete(name);
  }

  has(name: string): boolean {
    return this.#tenants.has(name);
  }

  /**
   * The response body as a list of buffers, each family's header once and then every tenant's lines of it. The list
   * is taken at once, so a refresh finishing during the write cannot mix two renderings of a family.
   */
  async body({ format, gzip: compressed, tenant }: ScrapeRequest): Promise<Buffer[]> {
    const entries = tenant === undefined ? [...this.#tenants.values()] : [this.#tenants.get(tenant)!];
    for (const entry of entries) this.#render(entry, entry.tenant.groups.filter((group) => !group.volatile && entry.rendered.get(group)?.version !== group.version));
    const volatile = this.#renderVolatile(entries);

    const parts: Array<Buffer | Promise<Buffer>> = [];
    if (tenant === undefined) parts.push(await this.#global(format, compressed));
    for (const family of TENANT_FAMILIES) {
      const header = this.#headers.get(family.name)!;
      parts.push(compressed ? header.gzip[format] : header.text[format]);
      for (const entry of entries) {
        const chunk = entry.chunks.get(family.name);
        if (chunk) parts.push(compressed ? chunk.gzip : chunk.text);
      }
      const lines = volatile.get(family.name);
      if (lines) parts.push(compressed ? gzip(lines) : lines);
    }
    if (format === 'openmetrics') parts.push(compressed ? EOF_GZIP : EOF);
    return Promise.all(parts);
  }

  #render(entry: TenantEntry, groups: SeriesGroup[]): void {
    for (const group of groups) {
      const out = new LineWriter({ tenant: entry.tenant.name });
      const version = group.version;
      group.write(out);
      for (const family of entry.rendered.get(group)?.families ?? []) if (!out.families.has(family)) entry.chunks.delete(family);
      for (const [family, text] of out.families) entry.chunks.set(family, chunkOf(text));
      entry.rendered.set(group, { version, families: [...out.families.keys()] });
    }
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
  async #global(format: ExpositionFormat, compressed: boolean): Promise<Buffer> {
    let text = '';
    for (const family of await this.globalRegistry.getMetricsAsJSON()) {
      text += renderHeader({ name: family.name, help: family.help, type: String(family.type) }, format);
      for (const { metricName, labels, value } of family.values as Array<{ metricName?: string; labels: Labels; value: number }>) {
        text += renderSample(metricName ?? family.name, '', labels, value);
      }
    }
    const bytes = Buffer.from(text);
    return compressed ? gzip(bytes) : bytes;
  }
}
