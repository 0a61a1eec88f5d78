import sanitize from 'sanitize-html';
import { intern } from './intern.js';

/**
 * An itemBody's content as HTML, the one form snapshots keep: Graph sends posts and message bodies as `html` (text is
 * rare). It is kept as Microsoft sent it; what leaves the exporter is made from it when asked: text for the legacy
 * Messages[] (`bodyText`), sanitized HTML for the Atom feeds (`safeHtml`).
 */
export function bodyHtml(body: { content?: string | null; contentType?: string | null } | null | undefined): string {
  const content = body?.content ?? '';
  if ((body?.contentType ?? 'html').toLowerCase() !== 'text') return intern(content);
  return intern(escapeHtml(content).replace(/\r?\n/g, '<br>'));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * HTML a feed reader may render: sanitize-html's allowlist (no script, style, iframe, form or event-handler attribute),
 * links only to http(s) and mailto, so a hostile or compromised post cannot run code in the reader
 * (https://github.com/apostrophecms/sanitize-html#default-options). Links open without the opener.
 */
export function safeHtml(html: string): string {
  return sanitize(html, {
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
    allowProtocolRelative: false,
    transformTags: { a: sanitize.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) },
    allowedAttributes: { a: ['href', 'name', 'rel'] },
  });
}

/** The text of a post, as the legacy MessageText was: line breaks for <br> and paragraphs, no markup, entities decoded. */
export function bodyText(html: string): string {
  const text = sanitize(html.replace(/<br\s*\/?>/gi, '\n').replace(/<\/(p|div|h\d)>/gi, '\n\n$&').replace(/<\/(li|tr)>/gi, '\n$&'), { allowedTags: [], allowedAttributes: {} });
  // sanitize-html escapes the text it returns; the legacy API's JSON carried it plain.
  return text
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&')
    .replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}
