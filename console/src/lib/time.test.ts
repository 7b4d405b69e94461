import { describe, expect, it } from 'vitest';
import { formatDuration, formatTime, fromInputValue, toInputValue } from './time';

describe('times', () => {
  it('shows UTC with its name when switched to UTC', () => {
    expect(formatTime('2026-01-05T10:03:12Z', true)).toBe('2026-01-05 10:03:12 UTC');
  });
  it('shows local time without a zone name', () => {
    const local = formatTime('2026-01-05T10:03:12Z', false);
    const date = new Date('2026-01-05T10:03:12Z');
    expect(local).toContain(`${String(date.getHours()).padStart(2, '0')}:03:12`);
    expect(local).not.toContain('UTC');
  });
  it('round-trips a datetime-local input in either zone', () => {
    expect(toInputValue('2026-01-05T10:03:12Z', true)).toBe('2026-01-05T10:03:12');
    expect(fromInputValue('2026-01-05T10:03:12', true)).toBe('2026-01-05T10:03:12Z');
    expect(fromInputValue(toInputValue('2026-01-05T10:03:12Z', false), false)).toBe('2026-01-05T10:03:12Z');
    expect(fromInputValue('2026-01-05T10:03', true)).toBe('2026-01-05T10:03:00Z');
    expect(fromInputValue('', true)).toBeUndefined();
  });
  it('says durations as people do', () => {
    expect(formatDuration(12.4)).toBe('12 s');
    expect(formatDuration(240)).toBe('4 min');
    expect(formatDuration(3 * 3600 + 300)).toBe('3 h 5 min');
    expect(formatDuration(null)).toBe('—');
  });
});
