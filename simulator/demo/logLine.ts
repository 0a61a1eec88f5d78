/**
 * The exporter logs JSON (pino) on stderr; on the demo's terminal each line becomes `time level msg key=value …`.
 * A line that is not JSON (an exporter that already writes logfmt, a stack trace) passes unchanged.
 */
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** pino's own fields, and the app name every line carries. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app']);

export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.level !== 'number') return line;
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '--:--:--';
  const pairs = flatten(Object.fromEntries(Object.entries(entry).filter(([key]) => !HIDDEN.has(key))));
  return [time, (LEVELS[entry.level] ?? String(entry.level)).padEnd(5), String(entry.msg ?? ''), ...pairs].join(' ');
}

function flatten(object: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(object).flatMap(([key, value]) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return flatten(value as Record<string, unknown>, `${prefix}${key}.`);
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return [`${prefix}${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`];
  });
}
