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
