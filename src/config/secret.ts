import { inspect } from 'node:util';

/**
 * A credential that cannot leak by accident: every way of printing it (string conversion, JSON, util.inspect,
 * template literals) yields `<secret>`. Only `reveal()` gives the value, and only auth code calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '<secret>';
  }

  toJSON(): string {
    return '<secret>';
  }

  [inspect.custom](): string {
    return '<secret>';
  }
}

/**
 * The value of every `Secret` in a loaded configuration, wherever it sits (client secrets, private keys, OTLP
 * header values, and any secret a later setting adds), for the log scrubber (src/logger.ts).
 */
export function secretValues(value: unknown): string[] {
  if (value instanceof Secret) return [value.reveal()];
  if (Array.isArray(value)) return value.flatMap(secretValues);
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.values(value).flatMap(secretValues);
  }
  return [];
}

/**
 * Deep equality of configuration values, secrets compared by value (in memory only; nothing is printed). Dates by
 * time; plain objects by their own keys, so a setting added later is compared without being listed here.
 */
export function sameConfigValue(a: unknown, b: unknown): boolean {
  if (a instanceof Secret || b instanceof Secret) return a instanceof Secret && b instanceof Secret && a.reveal() === b.reveal();
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameConfigValue(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameConfigValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return Object.is(a, b);
}
