import { MESSAGE_CATEGORIES, MESSAGE_SEVERITIES, canonicalEnum } from '../graph/enums.js';
import { serviceUpdateMessageSchema } from '../graph/resources.js';
import { METRICS } from '../model/metrics.js';
import { readServiceAnnouncement, type Sourced } from './serviceAnnouncement.js';
import { bodyHtml } from './body.js';
import { intern, SharedItems } from './intern.js';
import type { Collector } from './types.js';

/**
 * One message-center post as Graph gave it. Times are milliseconds since the epoch (numbers, not Date objects: a
 * fleet's snapshots hold hundreds of thousands). Frozen and shared by the tenants that see the same post
 * (./intern.ts, SharedItems).
 */
export interface Message {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly severity: string;
  readonly isMajorChange: boolean;
  readonly actionRequiredBy: number | null;
  readonly start: number | null;
  readonly end: number | null;
  readonly lastModified: number | null;
  /** Service display names the post is about. */
  readonly services: readonly string[];
  readonly tags: readonly string[];
  /** The body as HTML, unsanitized (src/collectors/body.ts): read by the legacy Messages and the Atom feed. */
  readonly html: string;
}

export interface MessagesSnapshot extends Sourced {
  messages: Message[];
}

const KNOWN_CATEGORIES = MESSAGE_CATEGORIES.filter((c) => c !== 'unknownFutureValue');
const KNOWN_SEVERITIES = MESSAGE_SEVERITIES.filter((s) => s !== 'unknownFutureValue');

/** Past the posts a fleet sees at once (a tenant lists a few hundred), with room to spare. */
const sharedMessages = new SharedItems<Message>(20_000);
const parseTime = (value: string | null) => (value ? Date.parse(value) : null);
/** A post is in the message center until its end time, if it has one. */
const running = (end: number | null, now: number) => end === null || end > now;

/** `GET /admin/serviceAnnouncement/messages`: the message center (legacy Messages of type MessageCenter). */
export const messagesCollector: Collector<MessagesSnapshot, unknown> = {
  name: 'messages',

  async fetch(context, previous) {
    const now = context.now.getTime();
    const read = await readServiceAnnouncement(context, 'messages', serviceUpdateMessageSchema, previous);
    if (!read) {
      // The same posts as last time, less those that ended since.
      const current = previous!.messages.filter((message) => running(message.end, now));
      return current.length === previous!.messages.length ? previous! : { messages: current, source: previous!.source };
    }
    const before = new Map(previous?.messages.map((message) => [message.id, message]));
    const messages = read.items
      .filter((item) => running(parseTime(item.endDateTime), now))
      .map((item) => sharedMessages.share({
        id: intern(item.id),
        title: intern(item.title ?? ''),
        category: canonicalEnum(item.category, MESSAGE_CATEGORIES),
        severity: canonicalEnum(item.severity, MESSAGE_SEVERITIES),
        isMajorChange: item.isMajorChange === true,
        actionRequiredBy: parseTime(item.actionRequiredByDateTime),
        start: parseTime(item.startDateTime),
        end: parseTime(item.endDateTime),
        lastModified: parseTime(item.lastModifiedDateTime),
        services: (item.services ?? []).map(intern),
        tags: (item.tags ?? []).map(intern),
        html: bodyHtml(item.body),
      }, before.get(item.id)));
    return { messages, source: read.source };
  },

  write(snapshot, _view, out, now) {
    const counts = new Map<string, { category: string; severity: string; major_change: string; count: number }>();
    const key = (category: string, severity: string, major: string) => `${category}\u0000${severity}\u0000${major}`;
    for (const category of KNOWN_CATEGORIES) {
      for (const severity of KNOWN_SEVERITIES) {
        for (const major_change of ['true', 'false']) counts.set(key(category, severity, major_change), { category, severity, major_change, count: 0 });
      }
    }
    for (const message of snapshot.messages) {
      if (!running(message.end, now.getTime())) continue;
      const major = String(message.isMajorChange);
      const entry = counts.get(key(message.category, message.severity, major)) ?? { category: message.category, severity: message.severity, major_change: major, count: 0 };
      entry.count++;
      counts.set(key(message.category, message.severity, major), entry);
      if (message.actionRequiredBy !== null && message.actionRequiredBy > now.getTime()) {
        out.add(METRICS.messageActionRequiredBy, { message_id: message.id, title: message.title }, message.actionRequiredBy / 1_000);
      }
    }
    for (const { count, ...labels } of counts.values()) out.add(METRICS.messages, labels, count);
  },
};
