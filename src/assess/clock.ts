// Time-of-day features in the policy's time zone: the hour (0-23) and weekday (0 = Sunday) at which a rollout
// starts. Late, early and end-of-week releases fail more often and are harder to staff when they do.
export interface ClockFeatures {
  hour_of_day: number;
  day_of_week: number;
}

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function clockFeatures(at: Date, timeZone: string): ClockFeatures {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: 'numeric',
    hourCycle: 'h23',
    weekday: 'short',
  }).formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? NaN);
  const weekday = weekdays.indexOf(parts.find((p) => p.type === 'weekday')?.value ?? '');
  return { hour_of_day: hour, day_of_week: weekday };
}
