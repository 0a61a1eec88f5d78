import { isDeepStrictEqual } from 'node:util';

/**
 * One copy of each text the tenants of a fleet share. Microsoft publishes the same service names, issue ids and
 * titles, feature names and message-center posts to many tenants, and every refresh parses them anew; an MSP's
 * snapshots would otherwise hold hundreds of copies of each. The pool forgets everything past a bound, so texts
 * that are gone cannot accumulate; what snapshots already share stays shared.
 */
const MAX_ENTRIES = 100_000;
const pool = new Map<string, string>();

export function intern(text: string): string {
  const found = pool.get(text);
  if (found !== undefined) return found;
  if (pool.size >= MAX_ENTRIES) pool.clear();
  pool.set(text, text);
  return text;
}

/**
 * One copy of each parsed issue or message-center post the tenants share: Microsoft publishes an incident or a post
 * (one id, one text) to every tenant with the service, so 500 snapshots would otherwise hold 500 equal objects of
 * each. An item is shared only when it is deeply equal to the copy kept for its id; otherwise the tenant's own copy
 * from its previous refresh is kept if equal (so a tenant whose texts are its own does not make its data anew at
 * every refresh), and either replaces the kept copy (the latest version wins). The ids seen least recently leave
 * first past `maxIds`, so ids that are gone cannot accumulate. What `share` returns is frozen, deeply: a tenant's
 * reader must never change another tenant's data.
 */
export class SharedItems<T extends { readonly id: string }> {
  readonly #byId = new Map<string, T>();
  readonly #maxIds: number;

  constructor(maxIds: number) {
    this.#maxIds = maxIds;
  }

  /** `previous`: the tenant's copy of the item from its previous refresh, if it had one. */
  share(item: T, previous?: T): T {
    const kept = this.#byId.get(item.id);
    const shared = kept !== undefined && isDeepStrictEqual(kept, item) ? kept
      : previous !== undefined && isDeepStrictEqual(previous, item) ? previous : deepFreeze(item);
    // Delete first, so the Map's order is least recently seen first.
    this.#byId.delete(item.id);
    this.#byId.set(item.id, shared);
    if (this.#byId.size > this.#maxIds) this.#byId.delete(this.#byId.keys().next().value!);
    return shared;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
