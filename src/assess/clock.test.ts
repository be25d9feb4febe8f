// Hour of day and weekday in the policy's time zone, at fixed instants, across offsets and daylight-saving
// changes.
import { describe, expect, it } from 'vitest';
import { clockFeatures } from './clock.js';

// Day numbers: 0 Sunday … 6 Saturday.
describe('clockFeatures', () => {
  it.each([
    // Monday 2024-01-15 12:00 UTC (winter: Berlin +1, Los Angeles -8, Kolkata +5:30).
    ['2024-01-15T12:00:00Z', 'UTC', 12, 1],
    ['2024-01-15T12:00:00Z', 'Europe/Berlin', 13, 1],
    ['2024-01-15T12:00:00Z', 'America/Los_Angeles', 4, 1],
    ['2024-01-15T12:00:00Z', 'Asia/Kolkata', 17, 1],
    // Sunday 23:30 UTC is already Monday in Berlin and Kolkata, still Sunday afternoon in Los Angeles.
    ['2024-01-14T23:30:00Z', 'UTC', 23, 0],
    ['2024-01-14T23:30:00Z', 'Europe/Berlin', 0, 1],
    ['2024-01-14T23:30:00Z', 'America/Los_Angeles', 15, 0],
    ['2024-01-14T23:30:00Z', 'Asia/Kolkata', 5, 1],
    // Midnight is hour 0, never 24.
    ['2024-01-16T00:00:00Z', 'UTC', 0, 2],
    ['2024-01-16T00:00:00Z', 'America/Los_Angeles', 16, 1],
    // Friday evening UTC is Saturday morning in Kolkata.
    ['2024-01-19T23:00:00Z', 'UTC', 23, 5],
    ['2024-01-19T23:00:00Z', 'Asia/Kolkata', 4, 6],
    // Berlin springs forward on 2024-03-31: 02:00 CET becomes 03:00 CEST.
    ['2024-03-31T00:59:59Z', 'Europe/Berlin', 1, 0],
    ['2024-03-31T01:00:00Z', 'Europe/Berlin', 3, 0],
    ['2024-03-31T01:00:00Z', 'America/Los_Angeles', 18, 6],
    // Los Angeles springs forward on 2024-03-10: 02:00 PST becomes 03:00 PDT.
    ['2024-03-10T09:59:59Z', 'America/Los_Angeles', 1, 0],
    ['2024-03-10T10:00:00Z', 'America/Los_Angeles', 3, 0],
    ['2024-03-10T10:00:00Z', 'Asia/Kolkata', 15, 0],
    // Berlin falls back on 2024-10-27: 02:30 happens twice.
    ['2024-10-27T00:30:00Z', 'Europe/Berlin', 2, 0],
    ['2024-10-27T01:30:00Z', 'Europe/Berlin', 2, 0],
    // Los Angeles falls back on 2024-11-03: 01:30 happens twice.
    ['2024-11-03T08:30:00Z', 'America/Los_Angeles', 1, 0],
    ['2024-11-03T09:30:00Z', 'America/Los_Angeles', 1, 0],
    // Kolkata has no daylight-saving time: the same offset in summer.
    ['2024-07-01T18:29:00Z', 'Asia/Kolkata', 23, 1],
    ['2024-07-01T18:30:00Z', 'Asia/Kolkata', 0, 2],
  ])('%s in %s is hour %d, day %d', (instant, timeZone, hour, day) => {
    expect(clockFeatures(new Date(instant), timeZone)).toEqual({ hour_of_day: hour, day_of_week: day });
  });

  it('gives every weekday of one week in order', () => {
    const days = Array.from(
      { length: 7 },
      (_, i) => clockFeatures(new Date(Date.UTC(2024, 0, 14 + i, 12)), 'UTC').day_of_week,
    );
    expect(days).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('gives every hour of one day in order', () => {
    const hours = Array.from(
      { length: 24 },
      (_, h) => clockFeatures(new Date(Date.UTC(2024, 0, 15, h, 30)), 'UTC').hour_of_day,
    );
    expect(hours).toEqual(Array.from({ length: 24 }, (_, h) => h));
  });
});
