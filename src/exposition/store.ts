import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  constants, createGunzip, deflateRaw as deflateRawCallback, deflateRawSync, gunzip as gunzipCallback, gunzipSync, gzip as gzipCallback,
  gzipSync, type ZlibOptions,
} from 'node:zlib';
import type { Registry } from 'prom-client';
import type { Labels } from '../collectors/types.js';
import { METRICS, type MetricDefinition } from '../model/metrics.js';
import type { SeriesGroup, Tenant } from '../runtime/tenant.js';
import { FINAL_BLOCK, GZIP_HEADER, checksum, combineCrc, concatChecksums, gzipTrailer, storedBlocks, type Checksummed } from './gzipStream.js';
import { LineWriter, renderHeader, renderSample, type ExpositionFormat, type FamilyHeader } from './render.js';

/** What the exposition needs of a tenant: its name, its series groups, and word of their changes. */
export type ExposedTenant = Pick<Tenant, 'name' | 'groups' | 'onChange'>;

const gzip = promisify(gzipCallback);
const gunzip = promisify(gunzipCallback);
const deflateRaw = promisify(deflateRawCallback);

/**
 * Texts below this are compressed on the event loop: tens of microseconds each, where a compression in libuv's
 * thread pool costs ten times the CPU in setup and hand-over (measured on a 3.6 KB chunk: 22 µs synchronously, 260 µs
 * asynchronously). Larger ones go to the pool, so no compression holds the event loop for long.
 */
const COMPRESS_ON_LOOP_BYTES = 64 * 1024;

/** Gzip bodies below this are inflated on the event loop (a realistic tenant's probe: 12 KiB to 0.14 MiB in 0.3 ms). */
const INFLATE_ON_LOOP_BYTES = 16 * 1024;

/**
 * A buffer of its own for bytes kept until the next change, when they are a small view of a larger one: zlib hands
 * its output out as views of 16 KiB buffers, Buffer.concat puts results under 4 KiB into shared 8 KiB slabs, and the
 * larger buffer lives as long as any view of it, so a fleet's small pieces, replaced at different times, would keep
 * dead neighbours alive.
 */
function ownBuffer(bytes: Buffer): Buffer {
  if (bytes.byteLength >= bytes.buffer.byteLength / 2) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.byteLength);
  bytes.copy(own);
  return own;
}

async function memberOf(text: Buffer): Promise<Buffer> {
  return ownBuffer(text.length < COMPRESS_ON_LOOP_BYTES ? gzipSync(text) : await gzip(text));
}

/** A chunk's text: held from its rendering until its block is compressed, inflated from its member after. */
function textOf(chunk: Chunk, now: true): Buffer;
function textOf(chunk: Chunk, now?: boolean): Buffer | Promise<Buffer>;
function textOf(chunk: Chunk, now = false): Buffer | Promise<Buffer> {
  if (chunk.text) return chunk.text;
  return now || chunk.length < COMPRESS_ON_LOOP_BYTES ? gunzipSync(chunk.member) : gunzip(chunk.member);
}

/** Tells two renderings of a family apart without keeping the text. */
function digestOf(text: Buffer): string {
  return createHash('sha1').update(text).digest('base64');
}

/** A deflate piece that may follow `previous` in the stream, which it uses as dictionary. */
function continuationOptions(previous: Buffer | undefined): ZlibOptions {
  return { finishFlush: constants.Z_SYNC_FLUSH, ...(previous && { dictionary: previous.subarray(-WINDOW_BYTES) }) };
}

async function continuationOf(text: Buffer, previous: Buffer | undefined): Promise<Buffer> {
  return text.length < COMPRESS_ON_LOOP_BYTES ? deflateRawSync(text, continuationOptions(previous)) : deflateRaw(text, continuationOptions(previous));
}

/**
 * Rendered lines of one family of one tenant, kept compressed only: `member` is their own gzip member, which /probe
 * serves (RFC 1952 §2.2: members concatenate into one valid file); the text (0.14 MiB per realistic tenant, 20 times
 * its compressed size) is held only until the block is compressed, and inflated again when needed (a text scrape, the
 * dictionary of the next chunk).
 */
interface Chunk extends Checksummed {
  readonly member: Buffer;
  readonly digest: string;
  text?: Buffer;
}

/** A chunk compressed as the continuation of the chunk before it in its block (see Block). */
interface Continuation {
  readonly chunk: Chunk;
  readonly after: Chunk | undefined;
  readonly deflate: Buffer;
}

interface TenantEntry {
  readonly tenant: ExposedTenant;
  readonly block: Block;
  /** Family name → the tenant's rendered lines of it. Every family comes from exactly one group. */
  readonly chunks: Map<string, Chunk>;
  /** Family name → the chunk as compressed for /metrics, against what preceded it when it was compressed. */
  readonly continuations: Map<string, Continuation>;
  /** What each group wrote when it was last rendered, and the version that rendering showed. */
  readonly rendered: Map<SeriesGroup, { version: number; families: string[] }>;
}

/** A family's lines of a block's tenants as one piece of deflate stream, with the checksum of their text. */
interface Unit extends Checksummed {
  readonly deflate: Buffer;
}

/**
 * Up to BLOCK_TENANTS tenants whose lines of each family are compressed as one run of the /metrics deflate stream:
 * each tenant's chunk with the chunk before it as preset dictionary (the lines of two tenants differ in little but the
 * tenant label), so a fleet compresses about as well as one stream of its whole text, yet a refresh of one tenant
 * recompresses only its own chunks and the ones after them. A block is the unit the scrape lists, so a scrape writes
 * a few hundred buffers for a fleet, not one per tenant and family.
 */
interface Block {
  readonly slots: Array<TenantEntry | undefined>;
  readonly units: Map<string, Unit>;
  /** Families whose unit no longer matches the chunks. */
  readonly stale: Set<string>;
  /** Compressions started per family: only the latest may swap its unit in. */
  readonly generations: Map<string, number>;
}

const BLOCK_TENANTS = 32;
/** Deflate's window: a dictionary longer than this is not looked at (RFC 1951 §2). */
const WINDOW_BYTES = 32 * 1024;

interface Header {
  readonly text: Record<ExpositionFormat, Buffer>;
  readonly member: Record<ExpositionFormat, Buffer>;
  readonly deflate: Record<ExpositionFormat, Unit>;
}

/**
 * A response body and its length. Gzip bodies are the stored buffers; text bodies are the same stream inflated as it
 * is sent (a stream when it is large), so the store keeps no uncompressed copy of the fleet's lines.
 */
export type ScrapeBody = ({ readonly length: number } & ({ readonly buffers: Buffer[] } | { readonly stream: Readable })) | SplitBody;

/**
 * A gzip body of /metrics in two parts: the stored tenants' lines, to send at once, and the rest of the stream, which
 * reads the process metrics while the first part is on its way (so its length is not known before: sent chunked).
 */
export interface SplitBody {
  readonly buffers: Buffer[];
  rest(): Promise<Buffer[]>;
}

export interface ScrapeRequest {
  format: ExpositionFormat;
  gzip: boolean;
  /** One tenant (`/probe`), or every tenant and the exporter-wide families (`/metrics`). */
  tenant?: string;
  /** A HEAD request: the length is all that is needed, and a text body is not inflated for it. */
  head?: boolean;
}

const TENANT_FAMILIES: readonly MetricDefinition[] = Object.values(METRICS);
const EOF = Buffer.from('# EOF\n');
const EOF_MEMBER = gzipSync(EOF);

/** A deflate piece that ends on a byte boundary and leaves the stream open, so another piece may follow. */
function syncFlushed(text: Buffer): Unit {
  return { deflate: deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH }), ...checksum(text) };
}

function headerOf(family: FamilyHeader): Header {
  const text = { text: Buffer.from(renderHeader(family, 'text')), openmetrics: Buffer.from(renderHeader(family, 'openmetrics')) };
  return {
    text,
    member: { text: gzipSync(text.text), openmetrics: gzipSync(text.openmetrics) },
    deflate: { text: syncFlushed(text.text), openmetrics: syncFlushed(text.openmetrics) },
  };
}

/** Deflate pieces of the /metrics stream, in order, with the checksum of their text. */
interface Section extends Checksummed {
  readonly parts: Buffer[];
}

/** A Section as the scrape lists it, with the length of its compressed bytes. */
interface TenantSection extends Section {
  readonly compressedLength: number;
}

/**
 * The compressed size of the tenants' lines from which a gzip scrape of /metrics is split (see SplitBody): from about
 * there, sending them takes longer than reading the process metrics (2–3 ms on the bench machine, where 500 tenants'
 * 3.5 MiB took 8 ms from a static server), so the reading is hidden behind the sending. A smaller fleet's body goes
 * whole, with its length, as one write: splitting it would only add a second.
 */
const SPLIT_BODY_BYTES = 1024 * 1024;

/** A gzip body and the length of its text. */
interface Gzipped {
  readonly parts: Buffer[];
  readonly length: number;
}

/**
 * The text of a gzip body: inflated at once when small (a probe), else as a stream inflated in libuv's thread pool
 * while it is sent (70 MiB for 500 tenants, which the store does not keep).
 */
function inflated({ parts, length }: Gzipped): ScrapeBody {
  const compressed = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  if (compressed.length < INFLATE_ON_LOOP_BYTES) return { length, buffers: [gunzipSync(compressed)] };
  // Each write to zlib and each output chunk (16 KiB by default) is a trip through the thread pool: the stream's
  // hundreds of pieces go in as one buffer (a copy of the compressed bytes, 3.5 MiB for 500 tenants) and come out in
  // 256 KiB chunks (measured on 44 MiB of text: 0.36 s in 16 KiB chunks, 25 ms in 256 KiB).
  return { length, stream: Readable.from([compressed]).pipe(createGunzip({ chunkSize: 256 * 1024 })) };
}

/** Lets the event loop serve pending I/O (scrapes, health checks) before the next render. */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * What /metrics and /probe serve, kept as bytes (kube-state-metrics' metrics store): when a refresh changes a group
 * of a tenant, that group is rendered to text and swapped in whole, then the blocks it touched are recompressed (in
 * libuv's thread pool) and swapped in whole too. A scrape never renders, never waits for a compression, and always
 * sees complete renderings; only the exporter-wide process metrics are rendered at scrape time. Renders run one at a
 * time with the event loop free between them, so a burst of refreshes finishing together cannot stall scrapes or
 * health checks.
 */
export class ExpositionStore {
  readonly #tenants = new Map<string, TenantEntry>();
  readonly #blocks: Block[] = [];
  readonly #headers = new Map(TENANT_FAMILIES.map((family) => [family.name, headerOf(family)]));
  /** Groups waiting to be rendered, each once, in order of their changes. */
  readonly #queue = new Map<SeriesGroup, TenantEntry>();
  #draining?: Promise<void>;
  /** What #tenantSection listed, per format, until a unit changes. */
  readonly #sections = new Map<ExpositionFormat, TenantSection>();
  /** Per family, the units of every block in block order, until one of them changes. */
  readonly #familyRuns = new Map<string, Section>();

  /** `splitBodyBytes`: where a gzip scrape of /metrics is split (SPLIT_BODY_BYTES; tests set their own). */
  constructor(private readonly globalRegistry: Registry, private readonly options: { splitBodyBytes?: number } = {}) {}

  /** Starts serving a tenant (or its replacement, in the same place): renders what it has now, then every change. */
  add(tenant: ExposedTenant): void {
    const previous = this.#tenants.get(tenant.name);
    const block = previous?.block ?? this.#freeBlock();
    const entry: TenantEntry = { tenant, block, chunks: new Map(), continuations: new Map(), rendered: new Map() };
    const slot = previous ? block.slots.indexOf(previous) : block.slots.indexOf(undefined);
    if (slot === -1) block.slots.push(entry);
    else block.slots[slot] = entry;
    if (previous) this.#leave(previous);
    this.#tenants.set(tenant.name, entry);
    this.#enqueue(entry, tenant.groups);
    tenant.onChange((changed) => this.#enqueue(entry, changed));
  }

  remove(name: string): void {
    const entry = this.#tenants.get(name);
    if (!entry) return;
    this.#tenants.delete(name);
    entry.block.slots[entry.block.slots.indexOf(entry)] = undefined;
    this.#leave(entry);
  }

  has(name: string): boolean {
    return this.#tenants.has(name);
  }

  /** Whether every group of the tenant that has data has been rendered, and compressed, at least once (for readiness). */
  rendered(name: string): boolean {
    const entry = this.#tenants.get(name);
    return entry !== undefined && entry.tenant.groups.every((group) => group.version === 0 || (entry.rendered.get(group)?.version ?? 0) > 0)
      && [...entry.chunks.keys()].every((family) => entry.continuations.has(family));
  }

  /** Resolves once every change announced so far is rendered, compressed and swapped in. */
  async settled(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /**
   * The response body: each family's header once and then every tenant's lines of it. The buffers are taken at once,
   * so a rendering swapped in during the write cannot mix two renderings of a family.
   */
  async body(request: ScrapeRequest): Promise<ScrapeBody> {
    if (request.tenant === undefined && request.gzip && !request.head) {
      const tenants = this.#tenantSection(request.format);
      if (tenants.compressedLength >= (this.options.splitBodyBytes ?? SPLIT_BODY_BYTES)) {
        return { buffers: [GZIP_HEADER, ...tenants.parts], rest: async () => this.#metricsEnd(tenants, await this.#global(request.format), request.format).parts };
      }
    }
    const gzipped = request.tenant !== undefined ? this.#probe(request.tenant, request.format) : this.#metrics(request.format, await this.#global(request.format));
    if (request.gzip) return { length: gzipped.parts.reduce((sum, part) => sum + part.length, 0), buffers: gzipped.parts };
    return request.head ? { length: gzipped.length, buffers: [] } : inflated(gzipped);
  }

  /**
   * One gzip stream: the compressed units of every block, family by family, then the process metrics as stored blocks.
   * In that order because the process metrics are read at scrape time (2.5–3 ms at 500 tenants): a gzip scrape sends
   * the tenants' lines first and reads them while those are on their way (docs/performance.md).
   */
  #metrics(format: ExpositionFormat, global: Buffer): Gzipped {
    const tenants = this.#tenantSection(format);
    const end = this.#metricsEnd(tenants, global, format);
    return { parts: [GZIP_HEADER, ...tenants.parts, ...end.parts], length: end.length };
  }

  /**
   * What follows the tenants' lines: the process metrics, `# EOF` for OpenMetrics, and the end of the gzip stream;
   * with the length of the whole stream's text, which its trailer holds.
   */
  #metricsEnd(tenants: Section, global: Buffer, format: ExpositionFormat): Gzipped {
    const last = format === 'openmetrics' ? Buffer.concat([global, EOF]) : global;
    const crc = combineCrc(tenants.crc, checksum(last));
    const length = tenants.length + last.length;
    return { parts: [...storedBlocks(last), FINAL_BLOCK, gzipTrailer({ crc, length })], length };
  }

  /**
   * Every tenant family's header and the units of every block, as the scrape lists them; kept until a unit changes, so a
   * scrape between two drain rounds does not walk a fleet's blocks again. A fleet that refreshes all the time changes
   * some unit between any two scrapes, so each family's run of units is kept on its own too: a scrape then combines
   * the checksums of a few dozen runs, not of every unit (424 at 500 tenants, 0.5 ms of a scrape under refresh load).
   */
  #tenantSection(format: ExpositionFormat): TenantSection {
    const kept = this.#sections.get(format);
    if (kept) return kept;
    const pieces: Section[] = [];
    for (const family of TENANT_FAMILIES) {
      const header = this.#headers.get(family.name)!.deflate[format];
      pieces.push({ parts: [header.deflate], ...header }, this.#familyRun(family.name));
    }
    const parts = pieces.flatMap((piece) => piece.parts);
    const section = { parts, compressedLength: parts.reduce((sum, part) => sum + part.length, 0), ...concatChecksums(pieces) };
    this.#sections.set(format, section);
    return section;
  }

  #familyRun(family: string): Section {
    const kept = this.#familyRuns.get(family);
    if (kept) return kept;
    const units = this.#blocks.flatMap((block) => block.units.get(family) ?? []);
    const run = { parts: units.map((unit) => unit.deflate), ...concatChecksums(units) };
    this.#familyRuns.set(family, run);
    return run;
  }

  /** One tenant: the gzip members of its chunks, one after the other. */
  #probe(name: string, format: ExpositionFormat): Gzipped {
    const entry = this.#tenants.get(name)!;
    const parts: Buffer[] = [];
    let length = 0;
    for (const family of TENANT_FAMILIES) {
      const header = this.#headers.get(family.name)!;
      parts.push(header.member[format]);
      length += header.text[format].length;
      const chunk = entry.chunks.get(family.name);
      if (chunk) {
        parts.push(chunk.member);
        length += chunk.length;
      }
    }
    if (format === 'openmetrics') {
      parts.push(EOF_MEMBER);
      length += EOF.length;
    }
    return { parts: [Buffer.concat(parts)], length };
  }

  #freeBlock(): Block {
    const free = this.#blocks.find((block) => block.slots.length < BLOCK_TENANTS || block.slots.includes(undefined));
    if (free) return free;
    const block: Block = { slots: [], units: new Map(), stale: new Set(), generations: new Map() };
    this.#blocks.push(block);
    return block;
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
      // The changes announced so far, then the blocks they touched: changes that keep arriving (a fleet refreshes all
      // the time) wait for the next round rather than keep the compressed stream from ever catching up.
      const changes = [...this.#queue];
      this.#queue.clear();
      for (const [group, entry] of changes) {
        if (this.#tenants.get(entry.tenant.name) !== entry) continue; // removed (or replaced by a reload)
        const swap = this.#render(entry, group);
        inFlight.add(swap);
        void swap.finally(() => inFlight.delete(swap));
        await yieldToIo();
      }
      await Promise.all(inFlight);
      // Units next, each once per round, so no two compressions of one unit race. They are swapped in together, once
      // all are done: a group's families show one rendering, never one family new and the next one old (a status
      // and the operational flag derived from it, as a scrape under load once saw).
      const swaps: Array<() => void> = [];
      for (const block of this.#blocks) {
        for (const family of [...block.stale]) {
          block.stale.delete(family);
          const compression = this.#compress(block, family).then((swap) => void (swap && swaps.push(swap)));
          inFlight.add(compression);
          void compression.finally(() => inFlight.delete(compression));
          await yieldToIo();
        }
      }
      await Promise.all(inFlight);
      for (const swap of swaps) swap();
    } while (this.#queue.size > 0 || this.#blocks.some((block) => block.stale.size > 0));
  }

  /** Renders one group to text and swaps its families in, unless a newer rendering already was. */
  async #render(entry: TenantEntry, group: SeriesGroup): Promise<void> {
    const version = group.version;
    const out = new LineWriter({ tenant: entry.tenant.name });
    group.write(out);
    const chunks = await Promise.all([...out.families].map(async ([family, lines]) => {
      const text = Buffer.from(lines);
      const digest = digestOf(text);
      // A refresh often writes what it wrote before: unchanged lines keep their chunk and its compressions.
      const same = entry.chunks.get(family);
      if (same?.digest === digest) return [family, same] as const;
      const chunk: Chunk = { member: await memberOf(text), digest, text, ...checksum(text) };
      return [family, chunk] as const;
    }));
    const previous = entry.rendered.get(group);
    if (previous && previous.version > version) return;
    const { block } = entry;
    for (const family of previous?.families ?? []) {
      if (out.families.has(family)) continue;
      entry.chunks.delete(family);
      block.stale.add(family);
    }
    for (const [family, chunk] of chunks) {
      if (entry.chunks.get(family) === chunk) continue;
      entry.chunks.set(family, chunk);
      block.stale.add(family);
    }
    entry.rendered.set(group, { version, families: chunks.map(([family]) => family) });
  }

  /**
   * Recompresses the chunks of a family in a block whose text or predecessor changed, and returns the swap of the
   * block's unit, which the drain applies with the rest of its round: built from one moment's chunks, so it is always
   * a consistent stream. `now`: on the event loop and swapped in at once (a tenant leaving must leave the compressed
   * stream before the reload answers). A unit is swapped in only if no later compression of it started meanwhile.
   */
  async #compress(block: Block, family: string, now = false): Promise<(() => void) | undefined> {
    const generation = (block.generations.get(family) ?? 0) + 1;
    block.generations.set(family, generation);
    let after: Chunk | undefined;
    const pieces = block.slots.flatMap((entry) => {
      const chunk = entry?.chunks.get(family);
      if (!entry || !chunk) return [];
      const known = entry.continuations.get(family);
      const piece = { entry, chunk, after, known: known?.chunk === chunk && known.after === after ? known : undefined };
      after = chunk;
      return [piece];
    });
    // A chunk is inflated once per compression, though two pieces may need it (its own, and the next one's dictionary).
    const texts = new Map<Chunk, Buffer | Promise<Buffer>>();
    const text = (chunk: Chunk) => texts.get(chunk) ?? texts.set(chunk, textOf(chunk, now)).get(chunk)!;
    const compress = async ({ chunk, after: before, known }: (typeof pieces)[number]) => known?.deflate
      ?? continuationOf(await text(chunk), before && await text(before));
    const compressNow = ({ chunk, after: before, known }: (typeof pieces)[number]) => known?.deflate
      ?? deflateRawSync(text(chunk) as Buffer, continuationOptions(before && text(before) as Buffer));
    const deflates = now ? pieces.map(compressNow) : await Promise.all(pieces.map(compress));
    // Joined as each compression ends, not in the swap: the drain applies a round's swaps together, and joining a
    // fleet's units there (3.5 MiB at 500 tenants) would run as one long task on the event loop.
    const unit: Unit | undefined = pieces.length === 0 ? undefined
      : { deflate: ownBuffer(Buffer.concat(deflates)), ...concatChecksums(pieces.map(({ chunk }) => chunk)) };
    const swap = () => this.#swap(block, family, generation, pieces, unit, deflates);
    if (!now) return swap;
    swap();
    return undefined;
  }

  #swap(block: Block, family: string, generation: number, pieces: Array<{ entry: TenantEntry; chunk: Chunk; after: Chunk | undefined }>, unit: Unit | undefined, deflates: Buffer[]): void {
    if (block.generations.get(family) !== generation) return;
    for (const entry of block.slots) if (entry && !entry.chunks.has(family)) entry.continuations.delete(family);
    this.#familyRuns.delete(family);
    this.#sections.clear();
    if (!unit) {
      block.units.delete(family);
      return;
    }
    // Each continuation is kept as a view of the unit: zlib hands its output out as slices of 16 KiB buffers, which a
    // fleet's tens of thousands of small chunks would otherwise each keep alive.
    let offset = 0;
    pieces.forEach(({ entry, chunk, after: before }, i) => {
      const deflate = unit.deflate.subarray(offset, (offset += deflates[i]!.length));
      entry.continuations.set(family, { chunk, after: before, deflate });
      // Compressed into the stream: from now on the member is the text.
      delete chunk.text;
    });
    block.units.set(family, unit);
  }

  /** Takes a tenant's lines out of its block's compressed units at once. */
  #leave(entry: TenantEntry): void {
    for (const family of entry.chunks.keys()) {
      entry.block.stale.delete(family);
      void this.#compress(entry.block, family, true);
    }
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

