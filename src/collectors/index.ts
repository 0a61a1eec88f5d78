import type { CollectorName } from '../config/schema.js';
import { healthOverviewsCollector } from './healthOverviews.js';
import { issuesCollector } from './issues.js';
import { messagesCollector } from './messages.js';
import { serviceActivityCollector } from './serviceActivity.js';
import type { Collector } from './types.js';

/** Every collector by name; health first, since issues need its service ids. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each collector has its own snapshot and settings types
export const COLLECTORS: Record<CollectorName, Collector<any, any>> = {
  health: healthOverviewsCollector,
  issues: issuesCollector,
  messages: messagesCollector,
  serviceActivity: serviceActivityCollector,
};
