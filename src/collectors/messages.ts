import { MESSAGE_CATEGORIES, MESSAGE_SEVERITIES, canonicalEnum } from '../graph/enums.js';
import { serviceUpdateMessageSchema } from '../graph/resources.js';
import { METRICS } from '../model/metrics.js';
import { listServiceAnnouncement } from './serviceAnnouncement.js';
import { bodyHtml } from './body.js';
import { intern } from './intern.js';
import type { Collector } from './types.js';

export interface Message {
  id: string;
  title: string;
  category: string;
  severity: string;
  isMajorChange: boolean;
  actionRequiredBy: Date | null;
  start: Date | null;
  end: Date | null;
  lastModified: Date | null;
  /** Service display names the post is about. */
  services: string[];
  tags: string[];
  /** The body as HTML, unsanitized (src/collectors/body.ts): read by the legacy Messages and the Atom feed. */
  html: string;
}

export interface MessagesSnapshot {
  messages: Message[];
}

const KNOWN_CATEGORIES = MESSAGE_CATEGORIES.filter((c) => c !== 'unknownFutureValue');
const KNOWN_SEVERITIES = MESSAGE_SEVERITIES.filter((s) => s !== 'unknownFutureValue');

/** `GET /admin/serviceAnnouncement/messages`: the message center (legacy Messages of type MessageCenter). */
export const messagesCollector: Collector<MessagesSnapshot, unknown> = {
  name: 'messages',

  async fetch(context) {
    const messages = (await listServiceAnnouncement(context, 'messages', serviceUpdateMessageSchema)).map((item): Message => ({
      id: intern(item.id),
      title: intern(item.title ?? ''),
      category: canonicalEnum(item.category, MESSAGE_CATEGORIES),
      severity: canonicalEnum(item.severity, MESSAGE_SEVERITIES),
      isMajorChange: item.isMajorChange === true,
      actionRequiredBy: item.actionRequiredByDateTime ? new Date(item.actionRequiredByDateTime) : null,
      start: item.startDateTime ? new Date(item.startDateTime) : null,
      end: item.endDateTime ? new Date(item.endDateTime) : null,
      lastModified: item.lastModifiedDateTime ? new Date(item.lastModifiedDateTime) : null,
      services: (item.services ?? []).map(intern),
      tags: (item.tags ?? []).map(intern),
      html: bodyHtml(item.body),
    }));
    const now = context.now.getTime();
    return { messages: messages.filter((message) => message.end === null || message.end.getTime() > now) };
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
      if (message.end !== null && message.end.getTime() <= now.getTime()) continue;
      const major = String(message.isMajorChange);
      const entry = counts.get(key(message.category, message.severity, major)) ?? { category: message.category, severity: message.severity, major_change: major, count: 0 };
      entry.count++;
      counts.set(key(message.category, message.severity, major), entry);
      if (message.actionRequiredBy && message.actionRequiredBy.getTime() > now.getTime()) {
        out.add(METRICS.messageActionRequiredBy, { message_id: message.id, title: message.title }, message.actionRequiredBy.getTime() / 1_000);
      }
    }
    for (const { count, ...labels } of counts.values()) out.add(METRICS.messages, labels, count);
  },
};
