import { expect, it } from 'vitest';
import { concurrency } from './concurrency';

it('runs at most the given number of tasks at once, all of them in the end', async () => {
  const limit = concurrency(2);
  let running = 0;
  let most = 0;
  const task = (value: number) =>
    limit(async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      return value;
    });
  expect(await Promise.all([1, 2, 3, 4, 5].map(task))).toEqual([1, 2, 3, 4, 5]);
  expect(most).toBe(2);
});

it('frees its slot when a task fails', async () => {
  const limit = concurrency(1);
  await expect(limit(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
  expect(await limit(async () => 'next')).toBe('next');
});
