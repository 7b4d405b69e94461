import { describe, expect, it } from 'vitest';
import { readParam, withParams } from './url-state';

describe('readParam', () => {
  it('reads a value among the choices', () => {
    expect(readParam({ range: '24h' }, 'range', '3h', ['1h', '3h', '24h'] as const)).toBe('24h');
  });
  it('reads a missing, empty or unknown value as the default', () => {
    expect(readParam({}, 'range', '3h', ['1h', '3h'] as const)).toBe('3h');
    expect(readParam({ range: '' }, 'range', '3h')).toBe('3h');
    expect(readParam({ range: '5y' }, 'range', '3h', ['1h', '3h'] as const)).toBe('3h');
  });
  it('takes any value when there are no choices', () => {
    expect(readParam({ resource: 'abc' }, 'resource', '')).toBe('abc');
  });
});

describe('withParams', () => {
  it('merges updates into the query, sorted so one view has one URL', () => {
    expect(withParams('/console/streams/s1', { tab: 'overview' }, { range: '24h' })).toBe('/console/streams/s1?range=24h&tab=overview');
  });
  it('drops parameters set to undefined, empty, or their default', () => {
    expect(withParams('/p', { tab: 'data', page: 'tok' }, { page: undefined, view: '' })).toBe('/p?tab=data');
    expect(withParams('/p', { range: '24h' }, { range: '3h' }, { range: '3h' })).toBe('/p');
  });
  it('encodes values such as opaque page tokens and times', () => {
    const url = withParams('/p', {}, { page: 'a+b/c=', since: '2026-01-05T10:00:00Z' });
    expect(url).toBe('/p?page=a%2Bb%2Fc%3D&since=2026-01-05T10%3A00%3A00Z');
    expect(new URLSearchParams(url.split('?')[1]).get('page')).toBe('a+b/c=');
  });
});
