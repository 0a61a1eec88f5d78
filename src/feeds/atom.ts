/**
 * Atom 1.0 feeds (RFC 4287) of the issues and the message-center posts, for feed readers, Teams/Slack RSS connectors
 * and intranet pages: what admins built on the retired API's Messages ("Einer weiteren Verarbeitung als RSS-Feed …
 * steht nichts im Wege", shared/seeds). Bodies are Microsoft's HTML, sanitized (src/collectors/body.ts, safeHtml).
 */
import { escapeHtml, safeHtml } from '../collectors/body.js';
import type { Issue } from '../collectors/issues.js';
import type { Message } from '../collectors/messages.js';
import type { TenantData } from '../runtime/tenant.js';

export type FeedKind = 'issues' | 'messages';

export interface FeedTenant {
  name: string;
  data: TenantData;
}

/** Extension elements for what Atom has no element for; the namespace is a tag: URI (RFC 4151) this exporter owns. */
const NS = 'tag:m365-health-exporter,2025:atom';
const TAG = 'tag:m365-health-exporter,2025:';
/** Where an admin reads the item in the Microsoft 365 admin center. */
const ADMIN_CENTER = {
  issues: (id: string) => `https://admin.microsoft.com/Adminportal/Home#/servicehealth/:/alerts/${encodeURIComponent(id)}`,
  messages: (id: string) => `https://admin.microsoft.com/Adminportal/Home#/MessageCenter/:/messages/${encodeURIComponent(id)}`,
};
const TITLES = { issues: 'Microsoft 365 service health issues', messages: 'Microsoft 365 message center' };

interface Entry {
  /** Milliseconds since the epoch. */
  updated: number;
  xml: string;
}

/** Characters XML 1.0 does not allow (C0 controls but tab/newline/return, U+FFFE/FFFF, lone surrogates) are dropped. */
export function escapeXml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const iso = (ms: number) => new Date(ms).toISOString();
const element = (name: string, text: string, attributes = '') => `<${name}${attributes}>${escapeXml(text)}</${name}>`;
const category = (scheme: string, term: string, label?: string) =>
  `<category scheme="${TAG}${scheme}" term="${escapeXml(term)}"${label ? ` label="${escapeXml(label)}"` : ''}/>`;

/**
 * The feed of one kind over the given tenants, newest first. `selfUrl` is the feed's own absolute URL (its id and
 * rel="self" link); `now` is its `updated` when it has no entry.
 */
export function renderFeed(kind: FeedKind, tenants: readonly FeedTenant[], selfUrl: string, now: Date): string {
  const several = tenants.length > 1;
  const entries: Entry[] = tenants.flatMap((tenant) =>
    kind === 'issues'
      ? tenant.data.issues.map((issue) => issueEntry(tenant.name, issue, several))
      : tenant.data.messages.map((message) => messageEntry(tenant.name, message, several)));
  entries.sort((a, b) => b.updated - a.updated);
  const updated = entries[0]?.updated ?? now.getTime();
  const scope = tenants.length === 1 ? ` (${tenants[0]!.name})` : '';
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xmlns:m365="${NS}">`,
    element('id', selfUrl),
    element('title', `${TITLES[kind]}${scope}`),
    element('updated', iso(updated)),
    `<link rel="self" type="application/atom+xml" href="${escapeXml(selfUrl)}"/>`,
    `<author><name>m365-health-exporter</name></author>`,
    element('generator', 'm365-health-exporter'),
    ...entries.map((entry) => entry.xml),
    '</feed>',
    '',
  ].join('\n');
}

function entryId(tenant: string, kind: FeedKind, id: string): string {
  return `${TAG}${encodeURIComponent(tenant)}/${kind}/${encodeURIComponent(id)}`;
}

function issueEntry(tenant: string, issue: Issue, several: boolean): Entry {
  const posts = [...issue.posts].reverse()
    .map((post) => `<h3>${escapeHtml(iso(post.published))}</h3>\n<div>${safeHtml(post.html)}</div>`).join('\n');
  const html = [
    `<p><strong>${escapeHtml(issue.serviceName)}</strong>${issue.featureGroup ? `: ${escapeHtml(issue.featureGroup)}` : ''}${issue.feature ? ` (${escapeHtml(issue.feature)})` : ''}</p>`,
    `<p>Status: ${escapeHtml(issue.status)}; ${issue.isResolved ? `resolved ${escapeHtml(issue.end === null ? '' : iso(issue.end))}` : 'open'}; started ${escapeHtml(iso(issue.start))}</p>`,
    issue.impactDescription ? `<p>${escapeHtml(issue.impactDescription)}</p>` : '',
    posts,
  ].filter(Boolean).join('\n');
  return {
    updated: issue.lastModified,
    xml: [
      '<entry>',
      element('id', entryId(tenant, 'issues', issue.id)),
      element('title', `${several ? `[${tenant}] ` : ''}${issue.id}: ${issue.title}`),
      element('updated', iso(issue.lastModified)),
      element('published', iso(issue.start)),
      `<author><name>${escapeXml(`Microsoft 365 service health (${tenant})`)}</name></author>`,
      `<link rel="alternate" type="text/html" href="${escapeXml(ADMIN_CENTER.issues(issue.id))}"/>`,
      category('classification', issue.classification),
      category('status', issue.status),
      category('service', issue.serviceName),
      element('m365:tenant', tenant),
      element('m365:status', issue.status),
      element('content', html, ' type="html"'),
      '</entry>',
    ].join('\n'),
  };
}

function messageEntry(tenant: string, message: Message, several: boolean): Entry {
  const updated = message.lastModified ?? message.start ?? 0;
  const facts = [
    message.services.length > 0 ? `Services: ${message.services.map(escapeHtml).join(', ')}` : '',
    message.actionRequiredBy !== null ? `Action required by ${escapeHtml(iso(message.actionRequiredBy))}` : '',
    message.tags.length > 0 ? `Tags: ${message.tags.map(escapeHtml).join(', ')}` : '',
  ].filter(Boolean).map((fact) => `<li>${fact}</li>`).join('');
  return {
    updated,
    xml: [
      '<entry>',
      element('id', entryId(tenant, 'messages', message.id)),
      element('title', `${several ? `[${tenant}] ` : ''}${message.id}: ${message.title}`),
      element('updated', iso(updated)),
      ...(message.start !== null ? [element('published', iso(message.start))] : []),
      `<author><name>${escapeXml(`Microsoft 365 message center (${tenant})`)}</name></author>`,
      `<link rel="alternate" type="text/html" href="${escapeXml(ADMIN_CENTER.messages(message.id))}"/>`,
      category('category', message.category),
      category('severity', message.severity),
      ...(message.isMajorChange ? [category('tag', 'majorChange', 'Major change')] : []),
      ...message.services.map((service) => category('service', service)),
      ...message.tags.map((tag) => category('tag', tag)),
      element('m365:tenant', tenant),
      element('m365:severity', message.severity),
      ...(message.actionRequiredBy !== null ? [element('m365:actionRequiredBy', iso(message.actionRequiredBy))] : []),
      element('content', `${facts ? `<ul>${facts}</ul>\n` : ''}${safeHtml(message.html)}`, ' type="html"'),
      '</entry>',
    ].join('\n'),
  };
}
