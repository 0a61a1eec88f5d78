/**
 * The OData query options the retired Service Communications API documented (shared/seeds: "Office 365 Service
 * Communications API reference"): `$filter` on a few properties per operation, `$select`, `$top` (at most 100) and
 * `$skip`. Property names match case-insensitively and string comparisons ignore case, because the scripts written
 * for that API do both (`$filter=ID eq 'SP197263'` in the German walk-through).
 */

export type Entity = Record<string, unknown>;

/** A 400 with an OData error body naming what is wrong. */
export class LegacyQueryError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'LegacyQueryError';
  }
}

export interface FilterProperty {
  name: string;
  type: 'string' | 'dateTime';
  /** The values a comparison is tried against (Workload of a message-center post: each affected service). */
  read(entity: Entity): Array<string | null>;
}

export interface QueryOptions {
  filter: (entity: Entity) => boolean;
  select: string[] | undefined;
  top: number | undefined;
  skip: number;
}

const MAX_TOP = 100;
const OPTIONS = new Set(['$filter', '$select', '$top', '$skip']);
const COMPARISONS = ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const;
type Comparison = (typeof COMPARISONS)[number];

/**
 * Reads the query string of one operation. Parameters without `$` are custom options and ignored, as OData says
 * (the walk-through's `?top eq 10` was answered with every message); an unknown `$` option is refused.
 */
export function parseQuery(query: URLSearchParams, operation: string, filterable: readonly FilterProperty[], properties: readonly string[]): QueryOptions {
  for (const key of new Set(query.keys())) {
    if (key.startsWith('$') && !OPTIONS.has(key)) throw new LegacyQueryError('UnsupportedQueryOption', `the query option '${key}' is not supported; ${operation} takes ${[...OPTIONS].join(', ')}`);
    if (OPTIONS.has(key) && query.getAll(key).length > 1) throw new LegacyQueryError('DuplicateQueryOption', `the query option '${key}' is given more than once`);
  }
  const filterText = query.get('$filter');
  return {
    filter: filterText === null || filterText.trim() === '' ? () => true : parseFilter(filterText, operation, filterable),
    select: parseSelect(query.get('$select'), operation, properties),
    top: parseCount(query.get('$top'), '$top', 1, MAX_TOP),
    skip: parseCount(query.get('$skip'), '$skip', 0, Number.MAX_SAFE_INTEGER) ?? 0,
  };
}

function parseCount(text: string | null, option: string, min: number, max: number): number | undefined {
  if (text === null) return undefined;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new LegacyQueryError('InvalidQueryOption', `${option} must be a whole number ${range}; got '${text.slice(0, 40)}'`);
  }
  return value;
}

function parseSelect(text: string | null, operation: string, properties: readonly string[]): string[] | undefined {
  if (text === null) return undefined;
  return text.split(',').map((name) => name.trim()).filter(Boolean).map((name) => {
    const found = properties.find((p) => p.toLowerCase() === name.toLowerCase());
    if (!found) throw new LegacyQueryError('InvalidSelect', `$select: ${operation} has no property '${name.slice(0, 60)}'; its properties are ${properties.join(', ')}`);
    return found;
  });
}

/** Applies `$select`, `$skip` and `$top` (defaulting to `defaultTop`) to the filtered entities. */
export function applyQuery(entities: Entity[], options: QueryOptions, defaultTop?: number): Entity[] {
  const top = options.top ?? defaultTop ?? Infinity;
  const page = entities.filter(options.filter).slice(options.skip, options.skip + top);
  if (!options.select) return page;
  return page.map((entity) => Object.fromEntries(options.select!.map((name) => [name, entity[name] ?? null])));
}

type Token = { kind: 'word' | 'string' | 'value' | 'open' | 'close'; text: string; at: number };

/** Words, 'strings' ('' escapes a quote), typed literals (datetime'…', Namespace.Enum'…'), bare values, parentheses. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|(\()|(\))|((?:[A-Za-z_][\w.]*)?'(?:[^']|'')*')|([A-Za-z_]\w*)|([^\s()']+)|(')/gy;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null && match[0] !== '') {
    const at = match.index;
    if (match[1]) tokens.push({ kind: 'open', text: '(', at });
    else if (match[2]) tokens.push({ kind: 'close', text: ')', at });
    else if (match[3]) tokens.push({ kind: 'string', text: match[3], at });
    else if (match[4]) tokens.push({ kind: 'word', text: match[4], at });
    else if (match[5]) tokens.push({ kind: 'value', text: match[5], at });
    else if (match[6]) throw new LegacyQueryError('InvalidFilter', `$filter: unterminated string starting at character ${at + 1}`);
  }
  return tokens;
}

/** `Property op literal` joined by `and`, `or`, `not` and parentheses. */
function parseFilter(text: string, operation: string, filterable: readonly FilterProperty[]): (entity: Entity) => boolean {
  const tokens = tokenize(text);
  let position = 0;
  const peek = () => tokens[position];
  const fail = (what: string): never => {
    throw new LegacyQueryError('InvalidFilter', `$filter: ${what}`);
  };
  const keyword = (word: string) => peek()?.kind === 'word' && peek()!.text.toLowerCase() === word;

  const disjunction = (): ((e: Entity) => boolean) => {
    const parts = [conjunction()];
    while (keyword('or')) {
      position++;
      parts.push(conjunction());
    }
    return parts.length === 1 ? parts[0]! : (e) => parts.some((part) => part(e));
  };
  const conjunction = (): ((e: Entity) => boolean) => {
    const parts = [unary()];
    while (keyword('and')) {
      position++;
      parts.push(unary());
    }
    return parts.length === 1 ? parts[0]! : (e) => parts.every((part) => part(e));
  };
  const unary = (): ((e: Entity) => boolean) => {
    if (keyword('not')) {
      position++;
      const inner = unary();
      return (e) => !inner(e);
    }
    if (peek()?.kind === 'open') {
      position++;
      const inner = disjunction();
      if (peek()?.kind !== 'close') fail(`expected ')' ${where()}`);
      position++;
      return inner;
    }
    return comparison();
  };
  const where = () => (peek() ? `at '${peek()!.text.slice(0, 40)}' (character ${peek()!.at + 1})` : 'at the end');
  const comparison = (): ((e: Entity) => boolean) => {
    const name = peek();
    if (name?.kind !== 'word') return fail(`expected a property name ${where()}`);
    const property = filterable.find((p) => p.name.toLowerCase() === name.text.toLowerCase());
    if (!property) {
      fail(`${operation} cannot be filtered on '${name.text.slice(0, 60)}'; it can be filtered on ${filterable.map((p) => p.name).join(', ') || 'nothing'}`);
    }
    position++;
    const op = peek()?.text.toLowerCase();
    if (peek()?.kind !== 'word' || !COMPARISONS.includes(op as Comparison)) fail(`expected one of ${COMPARISONS.join(', ')} after ${property!.name} ${where()}`);
    position++;
    const literal = peek();
    if (literal === undefined || literal.kind === 'open' || literal.kind === 'close') return fail(`expected a value after ${property!.name} ${op} ${where()}`);
    position++;
    return compare(property!, op as Comparison, literalValue(property!, literal));
  };

  const predicate = disjunction();
  if (position < tokens.length) fail(`unexpected ${where()}; join conditions with 'and' or 'or'`);
  return predicate;
}

/** A string, a date-time (as milliseconds) or null, checked against the property's type. */
function literalValue(property: FilterProperty, token: Token): string | number | null {
  if (token.kind === 'word' && token.text.toLowerCase() === 'null') return null;
  let text = token.text;
  if (token.kind === 'string') {
    // A typed literal (datetime'…', Microsoft.Office365ServiceComms.ExposedContracts.MessageType'Incident') is its string.
    text = text.slice(text.indexOf("'") + 1, -1).replace(/''/g, "'");
  } else if (property.type === 'string') {
    throw new LegacyQueryError('InvalidFilter', `$filter: ${property.name} compares with a quoted string such as '${property.name === 'Id' ? 'EX123456' : 'Exchange'}'; got ${token.text.slice(0, 40)}`);
  }
  if (property.type === 'string') return text;
  const time = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text) ? Date.parse(/T.*(Z|[+-]\d{2}:\d{2})$/.test(text) || !text.includes('T') ? text : `${text}Z`) : NaN;
  if (Number.isNaN(time)) {
    throw new LegacyQueryError('InvalidFilter', `$filter: ${property.name} compares with a date-time such as 2019-12-01T00:00:00Z; got ${token.text.slice(0, 40)}`);
  }
  return time;
}

function compare(property: FilterProperty, op: Comparison, value: string | number | null): (entity: Entity) => boolean {
  const normal = (v: string | null): string | number | null => {
    if (v === null) return null;
    return property.type === 'dateTime' ? Date.parse(v) : v.toLowerCase();
  };
  const wanted = typeof value === 'string' ? value.toLowerCase() : value;
  const test = (actual: string | number | null): boolean => {
    if (op === 'eq') return actual === wanted;
    if (op === 'ne') return actual !== wanted;
    if (actual === null || wanted === null) return false;
    if (op === 'gt') return actual > wanted;
    if (op === 'ge') return actual >= wanted;
    if (op === 'lt') return actual < wanted;
    return actual <= wanted;
  };
  return (entity) => {
    const values = property.read(entity).map(normal);
    if (values.length === 0) values.push(null);
    // `ne` holds when no value equals; every other operator when any value matches.
    return op === 'ne' ? values.every(test) : values.some(test);
  };
}
