/**
 * Days and hours in a time zone through Intl (the tz database): never a fixed offset, so a
 * day of a daylight-saving change has 23 or 25 hours and its hours are labelled with the
 * offset in force (the repeated autumn hour appears twice, once per offset).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f)
    formatters.set(
      tz,
      (f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })),
    );
  return f;
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall clock of `tz` at instant `t`. */
export function wallClock(tz: string, t: number): Wall {
  const parts: Record<string, number> = {};
  for (const p of formatter(tz).formatToParts(new Date(t)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour! % 24,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The offset of `tz` from UTC at instant `t`, in ms (Paris in summer: +7_200_000). */
export function offsetAt(tz: string, t: number): number {
  const w = wallClock(tz, t);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

/** The first instant of the local day `date` (YYYY-MM-DD) in `tz` (midnight, or the first hour after a gap). */
export function startOfLocalDay(tz: string, date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d);
  // Two passes converge for every real zone: the offset at the guess, then at the corrected instant.
  let t = wall - offsetAt(tz, wall);
  t = wall - offsetAt(tz, t);
  // A midnight that does not exist (a zone that springs forward at 00:00): the day starts later.
  const w = wallClock(tz, t);
  if (w.day !== d) t = wall - offsetAt(tz, t + 3_600_000);
  return t;
}

/** YYYY-MM-DD of the day after `date`. */
export function nextDate(date: string): string {
  const t = Date.parse(`${date}T00:00:00Z`) + 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** "2026-03-29" for a day bucket. */
export function dayLabel(tz: string, t: number): string {
  const w = wallClock(tz, t);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}`;
}

/** "2026-10-25 02:00 +02:00" for an hour bucket (the offset tells the repeated autumn hour apart). */
export function hourLabel(tz: string, t: number): string {
  const w = wallClock(tz, t);
  const off = offsetAt(tz, t) / 60_000;
  const sign = off < 0 ? '-' : '+';
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)} ${sign}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}
