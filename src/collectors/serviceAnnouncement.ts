import type { z } from 'zod';
import { parseItems, selectOf } from '../graph/resources.js';
import type { FetchContext } from './types.js';

/** What a snapshot was made of: the digest of the collection's answer (GraphClient.readCollection). */
export interface Sourced {
  readonly source?: string;
}

/**
 * Reads one `/admin/serviceAnnouncement/` collection with exactly the properties `schema` reads (`$select`), within
 * the tenant's service communications budget, every item validated. The collection name is the endpoint label.
 * Undefined when Graph answered exactly what `previous` was made of: its collector keeps it, as nothing changed.
 */
export async function readServiceAnnouncement<S extends z.ZodObject>(
  context: FetchContext<unknown>,
  collection: 'healthOverviews' | 'issues' | 'messages',
  schema: S,
  previous: Sourced | undefined,
): Promise<{ items: Array<z.infer<S>>; source: string } | undefined> {
  const read = await context.graph.readCollection(`/v1.0/admin/serviceAnnouncement/${collection}`, {
    endpoint: collection, budget: context.budgets.serviceCommunications, select: selectOf(schema), signal: context.signal,
  }, previous?.source);
  return read.changed ? { items: parseItems(schema, read.items, collection), source: read.digest } : undefined;
}
