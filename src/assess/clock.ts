// Time-of-day features in the policy's time zone: the hour (0-23) and weekday (0 = Sunday) at which a rollout
// starts. Late, early and end-of-week releases fail more often and are harder to staff when they do.
export interface ClockFeatures {
  hour_of_day: number;
  day_of_week: number;
}

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

// A DateTimeFormat is costly to make (it loads the zone's rules): one per time zone, made on first use. The
// zones are the policies' (validated against the IANA list), so the map stays small.
const hourAndWeekday = new Map<string, Intl.DateTimeFormat>();

export function clockFeatures(at: Date, timeZone: string): ClockFeatures {
  let format = hourAndWeekday.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23', weekday: 'short' });
    hourAndWeekday.set(timeZone, format);
  }
  const parts = format.formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? NaN);
  const weekday = weekdays.indexOf(parts.find((p) => p.type === 'weekday')?.value ?? '');
  return { hour_of_day: hour, day_of_week: weekday };
}

/** An RFC 3339 time with an offset or Z (2026-12-01T14:00:00Z, 2026-12-01T15:00:00+01:00), or undefined. */
export function parseRfc3339(text: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return undefined;
  const at = new Date(text.trim());
  // Date accepts 2026-02-31 and rolls it over; a time that does not exist is a mistake, not March 3rd.
  if (Number.isNaN(at.getTime()) || new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  return at;
}

/** The moment as the time-of-day features see it: "Tue 2026-12-01 15:00 in Europe/Berlin". */
export function describeClock(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')} ${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} in ${timeZone}`;
}
