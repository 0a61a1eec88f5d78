const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/**
 * Parses a Prometheus duration (`90s`, `1h30m`, `15m`, `7d`) into milliseconds.
 * Same grammar as Prometheus so the config reads like the rest of the user's monitoring stack.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(trimmed)) {
    throw new Error(`"${text}" is not a duration (use Prometheus syntax such as 30s, 15m, 1h30m, 7d)`);
  }
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(amount) * UNIT_MS[unit as string]!;
  }
  if (total <= 0) throw new Error(`"${text}" must be longer than zero`);
  return total;
}
