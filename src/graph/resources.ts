import { z } from 'zod';
import { InvalidResponseError } from '../model/errors.js';

/**
 * Shapes of the service communications resources we read (graph-api-reference §2), limited to the properties
 * we `$select`. Enum-typed properties are plain strings: new Graph enum members must pass through, not fail.
 */
const dateTime = z.iso.datetime({ offset: true, local: false });
const nullableDateTime = dateTime.nullish().transform((value) => value ?? null);
/** itemBody (ref §2): `content` is HTML or text as `contentType` says. */
const itemBody = z.object({ content: z.string().nullish(), contentType: z.string().nullish() }).nullish();

export const serviceHealthSchema = z.object({
  id: z.string().min(1),
  service: z.string(),
  status: z.string().nullish(),
});

export const serviceHealthIssueSchema = z.object({
  id: z.string().min(1),
  title: z.string().nullish(),
  service: z.string().nullish(),
  feature: z.string().nullish(),
  featureGroup: z.string().nullish(),
  classification: z.string().nullish(),
  status: z.string().nullish(),
  origin: z.string().nullish(),
  isResolved: z.boolean().nullish(),
  startDateTime: dateTime,
  endDateTime: nullableDateTime,
  lastModifiedDateTime: dateTime,
  impactDescription: z.string().nullish(),
  // serviceHealthIssuePost: the updates Microsoft published, read for the legacy Messages[] and the Atom feed.
  posts: z.array(z.object({ createdDateTime: dateTime, postType: z.string().nullish(), description: itemBody })).nullish(),
});

export const serviceUpdateMessageSchema = z.object({
  id: z.string().min(1),
  title: z.string().nullish(),
  category: z.string().nullish(),
  severity: z.string().nullish(),
  isMajorChange: z.boolean().nullish(),
  actionRequiredByDateTime: nullableDateTime,
  startDateTime: nullableDateTime,
  endDateTime: nullableDateTime,
  lastModifiedDateTime: nullableDateTime,
  body: itemBody,
  services: z.array(z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
});

/** The `$select` list for a resource: exactly the properties its schema reads. */
export function selectOf(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}

/**
 * Validates every item of a Graph collection. One malformed item fails the whole refresh (so the last good data
 * stays exported and nothing is silently lost); the message names the item and the property.
 */
export function parseItems<S extends z.ZodObject>(schema: S, items: unknown[], endpoint: string): Array<z.infer<S>> {
  return items.map((item, index) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) return parsed.data;
    const id = typeof (item as { id?: unknown })?.id === 'string' ? `"${(item as { id: string }).id}"` : `#${index}`;
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(item)'}: ${issue.message}`).join('; ');
    throw new InvalidResponseError(`${endpoint}: item ${id} does not match the API reference: ${problems}`);
  });
}
