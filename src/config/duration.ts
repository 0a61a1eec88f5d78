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
 * The longest delay a Node.js timer holds is 2^31-1 ms (about 24.8 days); a longer one is set to 1 ms and fires at
 * once (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args), so `refresh: 30d` refreshed over and over.
 * Durations that feed a timer stop below it, at a value that reads well in messages (test/config/limits.test.ts).
 */
export const TIMER_MAX_MS = 24 * UNIT_MS.d!;

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

/** Milliseconds as the shortest Prometheus duration that says them exactly (`90000` → `1m30s`), for messages. */
export function formatDuration(ms: number): string {
  let left = ms;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const amount = Math.floor(left / size);
    if (amount > 0) text += `${amount}${unit}`;
    left -= amount * size;
  }
  return text || '0s';
}
