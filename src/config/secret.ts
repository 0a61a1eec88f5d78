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
