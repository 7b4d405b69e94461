import { renderHook, waitFor } from '@testing-library/preact';
import { describe, expect, it } from 'vitest';
import { useQuery } from './use-query';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('useQuery', () => {
  it('loads, then holds the data', async () => {
    const { result } = renderHook(() => useQuery('k', async () => 42));
    expect(result.current.loading).toBe(true);
    await waitFor(() => expect(result.current.data).toBe(42));
    expect(result.current.loading).toBe(false);
    expect(result.current.updatedAt).toBeInstanceOf(Date);
  });

  it('keeps the error of a failed read', async () => {
    const { result } = renderHook(() => useQuery('k', () => Promise.reject(new Error('down'))));
    await waitFor(() => expect((result.current.error as Error)?.message).toBe('down'));
  });

  it('reads again on its interval, and stops when the interval for the data is none', async () => {
    let reads = 0;
    const { result } = renderHook(() => useQuery('job', async () => ++reads, (n) => (n !== undefined && n >= 3 ? null : 15)));
    await waitFor(() => expect(result.current.data).toBe(3));
    await sleep(80);
    expect(reads).toBe(3);
  });

  it('shows the newest key’s answer, never an older one that arrives late', async () => {
    const { result, rerender } = renderHook(({ key }: { key: string }) => useQuery(key, async () => (key === 'slow' ? (await sleep(60), 'slow') : 'fast')), {
      initialProps: { key: 'slow' },
    });
    rerender({ key: 'fast' });
    await waitFor(() => expect(result.current.data).toBe('fast'));
    await sleep(90);
    expect(result.current.data).toBe('fast');
  });

  it('reads nothing without a key', async () => {
    let reads = 0;
    const { result } = renderHook(() => useQuery(null, async () => ++reads, 10));
    await sleep(40);
    expect(reads).toBe(0);
    expect(result.current.loading).toBe(false);
  });
});
