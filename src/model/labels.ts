/**
 * The longest label value exported, in characters (Unicode code points). Graph's free text (an issue or a
 * message-center title) has no length limit: one 100 KB title would be 100 KB in every scrape, in Prometheus' index
 * and in every OTLP export. 1024 keeps any real title whole.
 */
export const MAX_LABEL_VALUE_LENGTH = 1024;

const ELLIPSIS = '…';

/**
 * `value`, or its first MAX_LABEL_VALUE_LENGTH - 1 characters and '…'. Both ways out call it on every label (the
 * exposition's renderSample in src/exposition/render.ts and the OTLP gather in src/otlp/gather.ts), so OTLP still
 * equals /metrics. Never splits a surrogate pair.
 */
export function capLabelValue(value: string): string {
  // UTF-16 length bounds the code points from above: short values (all but a few) take this path.
  if (value.length <= MAX_LABEL_VALUE_LENGTH) return value;
  let characters = 0;
  let offset = 0;
  /** UTF-16 offset after the first MAX_LABEL_VALUE_LENGTH - 1 characters. */
  let cut = 0;
  for (const character of value) {
    if (characters === MAX_LABEL_VALUE_LENGTH) return `${value.slice(0, cut)}${ELLIPSIS}`;
    characters++;
    offset += character.length;
    if (characters === MAX_LABEL_VALUE_LENGTH - 1) cut = offset;
  }
  return value;
}
