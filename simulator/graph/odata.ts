/** The OData query subset service communications clients use: $select, $filter, $orderby, $top/$skip paging, $count. */
import type { RequestContext } from '../http.js';

/** An error answered with Graph's OData error body. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** An entity type: its OData name and the properties $select and $filter may name. */
export interface EntityType {
  name: string;
  properties: readonly string[];
  /** Properties $filter cannot use (complex collections; ref: `details` "doesn't support filters"). */
  unfilterable: readonly string[];
}

type Entity = Record<string, unknown>;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export function unknownProperty(type: EntityType, name: string): GraphError {
  return new GraphError(400, 'BadRequest', `Could not find a property named '${name}' on type '${type.name}'.`);
}

/** Parses $select into property names; undefined when absent. */
export function parseSelect(query: URLSearchParams, type: EntityType): string[] | undefined {
  const raw = query.get('$select');
  if (raw === null) return undefined;
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) if (!type.properties.includes(name)) throw unknownProperty(type, name);
  return names;
}

export function project(item: Entity, select: string[] | undefined, extra: Entity = {}): Entity {
  if (!select) return { ...item, ...extra };
  const out: Entity = {};
  for (const name of select) if (name in item) out[name] = item[name];
  return { ...out, ...extra };
}

type Comparison = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
type Literal = string | number | boolean | null | Date;
interface Clause {
  property: string;
  op: Comparison;
  value: Literal;
}

const CLAUSE = /^(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+)$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** Supports `prop op literal` clauses joined by `and`; anything else is a 400 as an unsupported query. */
export function parseFilter(query: URLSearchParams, type: EntityType): Clause[] {
  const raw = query.get('$filter');
  if (raw === null) return [];
  return raw.trim().split(/\s+and\s+/i).map((text) => {
    const m = CLAUSE.exec(text.trim());
    if (!m) throw new GraphError(400, 'BadRequest', `Invalid filter clause: '${text.trim()}' is not supported.`);
    const [, property, op, literal] = m as unknown as [string, string, string, string];
    if (!type.properties.includes(property)) throw unknownProperty(type, property);
    if (type.unfilterable.includes(property)) throw new GraphError(400, 'BadRequest', `The property '${property}' does not support filtering.`);
    return { property, op: op.toLowerCase() as Comparison, value: parseLiteral(literal.trim()) };
  });
}

function parseLiteral(s: string): Literal {
  if (/^'.*'$/.test(s)) return s.slice(1, -1).replace(/''/g, "'");
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null') return null;
  if (DATETIME.test(s)) return new Date(s);
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  throw new GraphError(400, 'BadRequest', `Invalid filter clause: unsupported literal ${s}.`);
}

export function applyFilter<T extends object>(items: T[], clauses: Clause[]): T[] {
  return items.filter((item) => clauses.every((c) => matches((item as Entity)[c.property], c)));
}

function matches(actual: unknown, { op, value }: Clause): boolean {
  if (value === null || actual === null || actual === undefined) {
    const equal = value === null && (actual === null || actual === undefined);
    return op === 'eq' ? equal : op === 'ne' ? !equal : false;
  }
  const cmp = compare(actual, value);
  if (cmp === undefined) return op === 'ne';
  return { eq: cmp === 0, ne: cmp !== 0, gt: cmp > 0, ge: cmp >= 0, lt: cmp < 0, le: cmp <= 0 }[op];
}

function compare(actual: unknown, value: Exclude<Literal, null>): number | undefined {
  if (value instanceof Date) {
    const t = typeof actual === 'string' ? Date.parse(actual) : NaN;
    return Number.isNaN(t) ? undefined : Math.sign(t - value.getTime());
  }
  // Enum members compare case-insensitively: docs show PascalCase while live Graph emits camelCase (ref §1).
  if (typeof value === 'string' && typeof actual === 'string') return actual.toLowerCase().localeCompare(value.toLowerCase());
  if (typeof value === typeof actual) return actual === value ? 0 : (actual as number) < (value as number) ? -1 : 1;
  return undefined;
}

/** `$orderby=prop [asc|desc], …` */
export function applyOrderBy<T extends object>(items: T[], query: URLSearchParams, type: EntityType): T[] {
  const raw = query.get('$orderby');
  if (raw === null) return items;
  const keys = raw.split(',').map((part) => {
    const [property = '', direction = 'asc'] = part.trim().split(/\s+/);
    if (!type.properties.includes(property)) throw unknownProperty(type, property);
    if (!/^(asc|desc)$/i.test(direction)) throw new GraphError(400, 'BadRequest', `Invalid $orderby direction '${direction}'.`);
    return { property, sign: direction.toLowerCase() === 'desc' ? -1 : 1 };
  });
  return [...items].sort((a, b) => {
    for (const { property, sign } of keys) {
      const x = String((a as Entity)[property] ?? '');
      const y = String((b as Entity)[property] ?? '');
      if (x !== y) return x < y ? -sign : sign;
    }
    return 0;
  });
}

export interface Page {
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

/**
 * Server-driven paging as service communications does it (ref §3.2): 100 per page by default,
 * `Prefer: odata.maxpagesize` up to 1000, `$top` bounds the total, `@odata.nextLink` carries `$skip`.
 */
export function pageOf(ctx: RequestContext, items: Entity[], contextUrl: string): Page {
  const skip = nonNegativeInt(ctx.query.get('$skip'), '$skip') ?? 0;
  const top = nonNegativeInt(ctx.query.get('$top'), '$top');
  const preferred = /odata\.maxpagesize=(\d+)/i.exec(String(ctx.req.headers.prefer ?? ''));
  const pageSize = preferred ? Math.min(Math.max(Number(preferred[1]), 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  const end = top === undefined ? items.length : Math.min(items.length, skip + top);
  const value = items.slice(skip, Math.min(end, skip + pageSize));
  const body: Record<string, unknown> = { '@odata.context': contextUrl };
  if (ctx.query.get('$count') === 'true') body['@odata.count'] = items.length;
  const served = skip + value.length;
  if (served < end) body['@odata.nextLink'] = nextLink(ctx, served, top === undefined ? undefined : top - value.length);
  body.value = value;
  return { body, headers: preferred ? { 'Preference-Applied': `odata.maxpagesize=${pageSize}` } : {} };
}

/** Keeps the client's other query options verbatim; `$top` shrinks by what was served so `$skip` + `$top` stays OData-correct. */
function nextLink(ctx: RequestContext, skip: number, top: number | undefined): string {
  const raw = (ctx.req.url ?? '').split('?')[1] ?? '';
  const kept = raw.split('&').filter((part) => {
    const name = decodeURIComponent(part.split('=')[0] ?? '');
    return part && name !== '$skip' && name !== '$top';
  });
  if (top !== undefined) kept.push(`$top=${top}`);
  kept.push(`$skip=${skip}`);
  return `${ctx.baseUrl}${(ctx.req.url ?? '').split('?')[0]}?${kept.join('&')}`;
}

function nonNegativeInt(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) throw new GraphError(400, 'BadRequest', `Invalid value '${raw}' for query option ${name}.`);
  return Number(raw);
}
