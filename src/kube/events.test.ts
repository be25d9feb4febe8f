// The pure parts of emitting Events: a name derived from what the Event is about, so the same occurrence is
// recorded once even across restarts, and a note the API server accepts.
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { eventName, truncateNote } from './events.js';

describe('eventName', () => {
  it('is the same for the same Deployment and dedupe key, every time', () => {
    expect(eventName('web', 'paused/web/4')).toBe(eventName('web', 'paused/web/4'));
    expect(eventName('web', 'paused/web/4')).toMatch(/^web\.[0-9a-f]{16}$/);
  });

  it.each([
    ['another occurrence', 'web', 'paused/web/5'],
    ['another kind of Event', 'web', 'assessed/web/4'],
    ['another Deployment', 'api', 'paused/web/4'],
  ])('differs for %s', (_what, regarding, key) => {
    expect(eventName(regarding, key)).not.toBe(eventName('web', 'paused/web/4'));
  });

  it.each([undefined, ''])('is unique for an Event without a dedupe key (%j)', (key) => {
    const names = new Set(Array.from({ length: 50 }, () => eventName('web', key)));
    expect(names.size).toBe(50);
    for (const name of names) expect(name).toMatch(/^web\.[0-9a-f]{16}$/);
  });

  it('stays a valid object name for the longest Deployment name', () => {
    const longName = `${'a'.repeat(252)}z`;
    const name = eventName(longName, 'assessed/x/1');
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(/^a{200}\.[0-9a-f]{16}$/);
    expect(name).toBe(eventName(longName, 'assessed/x/1'));
  });
});

describe('truncateNote', () => {
  it.each([
    ['a short note', 'Revision 4 scored 0.86 (block)'],
    ['the empty note', ''],
    ['exactly 1024 characters', 'x'.repeat(1024)],
  ])('keeps %s as it is', (_what, note) => {
    expect(truncateNote(note)).toBe(note);
  });

  it.each([1025, 5000])('cuts a %d-character note to 1024 characters ending in ...', (length) => {
    const note = 'y'.repeat(length);
    const cut = truncateNote(note);
    expect(cut).toHaveLength(1024);
    expect(cut).toBe(`${'y'.repeat(1021)}...`);
  });

  // Regression test for a fixed bug (src/kube/events.ts, truncateNote line 27-29): the API server limits an Event's note to 1024 *bytes*
  // (Go's len() on the UTF-8 string in ValidateEvent), but truncateNote counts UTF-16 code units. A note with
  // non-ASCII text — e.g. the InvalidAnnotation warning, which quotes the user's annotation value — can be
  // 1024 characters and up to ~3 KB, and the API server rejects the Event with 422 Invalid, so the warning is
  // lost and the reconcile fails once. Expected: the truncated note is at most 1024 bytes in UTF-8.
  it.each([
    ['accented text', 'é'.repeat(2000)],
    ['arrows from template changes', 'image of container web: shop:1.4 → shop:1.5; '.repeat(40)],
    ['CJK text', '変更'.repeat(600)],
  ])('keeps a note with %s within 1024 bytes', (_what, note) => {
    expect(Buffer.byteLength(truncateNote(note), 'utf8')).toBeLessThanOrEqual(1024);
  });
});
