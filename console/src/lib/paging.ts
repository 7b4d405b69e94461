/**
 * Server paging in the URL: `?page=<NextToken>` opens that page; the tokens of the pages
 * before it are remembered while the view stays open, for "Previous page".
 */
import { useRef } from 'preact/hooks';
import { useUrlQuery } from './url-state';

export function usePaging(param = 'page') {
  const { query, set } = useUrlQuery();
  const token = query[param];
  const earlier = useRef<string[]>([]);
  return {
    token,
    hasPrevious: Boolean(token),
    next(nextToken: string) {
      earlier.current.push(token ?? '');
      set({ [param]: nextToken });
    },
    previous() {
      const before = earlier.current.pop();
      set({ [param]: before || undefined });
    },
    reset() {
      earlier.current = [];
    },
  };
}

export const PAGE_SIZE = 20;
