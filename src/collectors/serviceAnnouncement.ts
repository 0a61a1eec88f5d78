import type { z } from 'zod';
import { parseItems, selectOf } from '../graph/resources.js';
import type { FetchContext } from './types.js';

/**
 * Lists one `/admin/serviceAnnouncement/` collection with exactly the properties `schema` reads (`$select`), within
 * the tenant's service communications budget, every item validated. The collection name is the endpoint label.
 */
export async function listServiceAnnouncement<S extends z.ZodObject>(
  context: FetchContext<unknown>,
  collection: 'healthOverviews' | 'issues' | 'messages',
  schema: S,
): Promise<Array<z.infer<S>>> {
  const items = await context.graph.getCollection(`/v1.0/admin/serviceAnnouncement/${collection}`, {
    endpoint: collection, budget: context.budgets.serviceCommunications, select: selectOf(schema), signal: context.signal,
  });
  return parseItems(schema, items, collection);
}
