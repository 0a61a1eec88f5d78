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
