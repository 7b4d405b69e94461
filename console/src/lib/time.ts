/** Times are shown in the browser's zone, or in UTC when the user switches to it. */
import { signal } from '@preact/signals';

// A display preference, not a secret: kept across visits.
const KEY = 'tributary.utc';
export const showUtc = signal(readPreference());

function readPreference(): boolean {
  try {
    return localStorage.getItem(KEY) === '1';
  } catch {
    return false;
  }
}

export function setShowUtc(utc: boolean): void {
  showUtc.value = utc;
  try {
    localStorage.setItem(KEY, utc ? '1' : '0');
  } catch {
    /* private mode: the switch still works for this page */
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2026-01-05 10:03:12` in local time, or `2026-01-05 10:03:12 UTC`. */
export function formatTime(iso: string | null | undefined, utc = showUtc.value): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  if (utc) {
    return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} UTC`;
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The value for an `<input type="datetime-local">`, in the zone the user sees. */
export function toInputValue(iso: string | undefined, utc = showUtc.value): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const parts = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  return `${parts[0]}-${pad(parts[1])}-${pad(parts[2])}T${pad(parts[3])}:${pad(parts[4])}:${pad(parts[5])}`;
}

/** An `<input type="datetime-local">` value read in the zone the user sees, as ISO-8601 UTC. */
export function fromInputValue(value: string, utc = showUtc.value): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!match) return undefined;
  const [y, mo, d, h, mi, s] = match.slice(1).map((part) => Number(part ?? 0));
  const ms = utc ? Date.UTC(y, mo - 1, d, h, mi, s) : new Date(y, mo - 1, d, h, mi, s).getTime();
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/** "12 s", "4 min", "3 h 5 min" for durations such as data freshness. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}
