import { describe, expect, it } from 'vitest';
import { renderSample } from '../../src/exposition/render.js';
import { MAX_LABEL_VALUE_LENGTH, capLabelValue } from '../../src/model/labels.js';
import { parseExposition } from '../helpers/exposition.js';

const characters = (text: string) => [...text].length;

describe('capLabelValue', () => {
  it('keeps values up to the limit as they are', () => {
    expect(MAX_LABEL_VALUE_LENGTH).toBe(1024);
    const exact = 'x'.repeat(MAX_LABEL_VALUE_LENGTH);
    expect(capLabelValue(exact)).toBe(exact);
    expect(capLabelValue('')).toBe('');
    // 1024 characters of two UTF-16 units each: 2048 units, still within the limit.
    const emoji = '🔥'.repeat(MAX_LABEL_VALUE_LENGTH);
    expect(capLabelValue(emoji)).toBe(emoji);
  });

  it('replaces the tail of a longer value with an ellipsis, ending at exactly the limit', () => {
    const capped = capLabelValue('y'.repeat(MAX_LABEL_VALUE_LENGTH + 1));
    expect(capped).toBe(`${'y'.repeat(MAX_LABEL_VALUE_LENGTH - 1)}…`);
    const title = `Exchange Online: ${'mail delayed '.repeat(8_000)}`; // ~100 KB
    expect(title.length).toBeGreaterThan(100_000);
    expect(characters(capLabelValue(title))).toBe(MAX_LABEL_VALUE_LENGTH);
    expect(capLabelValue(title)).toBe(`${title.slice(0, MAX_LABEL_VALUE_LENGTH - 1)}…`);
  });

  it('never splits a surrogate pair', () => {
    const capped = capLabelValue(`a${'🔥'.repeat(2_000)}`);
    expect(characters(capped)).toBe(MAX_LABEL_VALUE_LENGTH);
    expect(capped).toBe(`a${'🔥'.repeat(MAX_LABEL_VALUE_LENGTH - 2)}…`);
    expect(capped).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('is applied before escaping, so a quote or backslash at the cut stays a whole escape', () => {
    const value = `${'z'.repeat(MAX_LABEL_VALUE_LENGTH - 2)}"\\\n${'z'.repeat(50)}`;
    const line = renderSample('m365_service_issue_info', 'tenant="contoso"', { title: value }, 1);
    const [sample] = parseExposition(line);
    expect(sample!.labels.title).toBe(`${'z'.repeat(MAX_LABEL_VALUE_LENGTH - 2)}"…`);
    expect(sample!.labels.tenant).toBe('contoso');
  });
});
