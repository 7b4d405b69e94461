import { describe, expect, it } from 'vitest';
import { alignSeries, isCount, rangeSince, summarize, type Series } from './chart-data';

const t = (minute: number) => `2026-01-05T10:${String(minute).padStart(2, '0')}:00Z`;
const s = (minute: number) => Date.parse(t(minute)) / 1000;

describe('alignSeries', () => {
  it('turns series into uPlot data: x in epoch seconds, one y array per series', () => {
    const records: Series = { Name: 'RecordsRead', Unit: 'Count', Timestamps: [t(0), t(1), t(2)], Values: [0, 5, 3] };
    expect(alignSeries([records])).toEqual([[s(0), s(1), s(2)], [0, 5, 3]]);
  });

  it('keeps nulls as gaps rather than zeros', () => {
    const freshness: Series = { Name: 'DataFreshnessSeconds', Unit: 'Seconds', Timestamps: [t(0), t(1), t(2)], Values: [null, 12, null] };
    expect(alignSeries([freshness])[1]).toEqual([null, 12, null]);
  });

  it('aligns series with different timestamps on their union, ascending, null where one has no value', () => {
    const a: Series = { Name: 'a', Unit: 'Count', Timestamps: [t(2), t(0)], Values: [2, 0] };
    const b: Series = { Name: 'b', Unit: 'Count', Timestamps: [t(1), t(2)], Values: [10, 20] };
    expect(alignSeries([a, b])).toEqual([
      [s(0), s(1), s(2)],
      [0, null, 2],
      [null, 10, 20],
    ]);
  });

  it('treats non-finite values as gaps and handles an empty series', () => {
    const odd: Series = { Name: 'x', Unit: 'Count', Timestamps: [t(0), t(1)], Values: [Number.NaN, 1] };
    expect(alignSeries([odd])[1]).toEqual([null, 1]);
    expect(alignSeries([{ Name: 'none', Unit: 'Count', Timestamps: [], Values: [] }])).toEqual([[], []]);
  });
});

describe('summarize', () => {
  it('counts points with values, totals, latest and peak', () => {
    expect(summarize({ Name: 'a', Unit: 'Count', Timestamps: [t(0), t(1), t(2)], Values: [1, null, 4] })).toEqual({ points: 2, total: 5, latest: 4, peak: 4 });
  });
  it('says there is nothing when every value is null', () => {
    expect(summarize({ Name: 'a', Unit: 'Seconds', Timestamps: [t(0)], Values: [null] })).toEqual({ points: 0, total: 0, latest: null, peak: null });
  });
});

describe('units and ranges', () => {
  it('adds up counts and bytes, not gauges', () => {
    expect(isCount({ Unit: 'Count' })).toBe(true);
    expect(isCount({ Unit: 'Bytes' })).toBe(true);
    expect(isCount({ Unit: 'Seconds' })).toBe(false);
    expect(isCount({ Unit: 'Percent' })).toBe(false);
  });
  it('reaches back as far as each range says', () => {
    const now = Date.parse('2026-01-08T00:00:00Z');
    expect(rangeSince('1h', now)).toBe('2026-01-07T23:00:00.000Z');
    expect(rangeSince('3d', now)).toBe('2026-01-05T00:00:00.000Z');
    expect(rangeSince('7d', now)).toBe('2026-01-01T00:00:00.000Z');
  });
});
