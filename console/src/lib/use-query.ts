/**
 * Loading state for one API read: loading, data, error, and an optional auto-refresh whose
 * next round starts only after the previous one ended (a slow API is never piled on).
 * The refresh interval may depend on the data (fast while a job runs, none once it ended).
 * A newer request always wins over an older one still in flight.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface QueryState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  updatedAt: Date | null;
  reload: () => void;
}

export type Refresh<T> = number | null | ((data: T | undefined) => number | null);

interface Held<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  updatedAt: Date | null;
  key: string | null;
}

export function useQuery<T>(key: string | null, load: () => Promise<T>, refresh: Refresh<T> = null): QueryState<T> {
  const [state, setState] = useState<Held<T>>({ loading: key !== null, updatedAt: null, key });
  const sequence = useRef(0);
  const loader = useRef(load);
  loader.current = load;
  const latest = useRef<T | undefined>(undefined);
  const interval = useRef(refresh);
  interval.current = refresh;

  const run = useCallback(() => {
    if (key === null) return Promise.resolve();
    const mine = ++sequence.current;
    setState((previous) => (previous.key === key ? { ...previous, loading: true } : { loading: true, updatedAt: null, key }));
    return loader.current().then(
      (data) => {
        if (mine !== sequence.current) return;
        latest.current = data;
        setState({ data, error: undefined, loading: false, updatedAt: new Date(), key });
      },
      (error) => {
        if (mine === sequence.current) setState((previous) => ({ ...previous, error, loading: false, updatedAt: new Date(), key }));
      },
    );
  }, [key]);

  // A request still in flight when the key changes or the view goes is ignored.
  useEffect(() => () => void (sequence.current += 1), [key]);

  // The interval as it stands for the data shown: when it changes (a job ended, the user
  // paused or resumed) the loop is set again, without an extra read for the same key.
  const refreshing = typeof refresh === 'function' ? refresh(state.key === key ? state.data : undefined) : refresh;
  const loadedKey = useRef<string | null>(null);
  useEffect(() => {
    if (key === null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const round = () => {
      run().finally(() => {
        if (stopped) return;
        const next = typeof interval.current === 'function' ? interval.current(latest.current) : interval.current;
        if (next) timer = setTimeout(round, next);
      });
    };
    if (loadedKey.current === key) {
      if (refreshing) timer = setTimeout(round, refreshing);
    } else {
      loadedKey.current = key;
      latest.current = undefined;
      round();
    }
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [run, refreshing]);

  const stale = state.key !== key;
  return {
    data: stale ? undefined : state.data,
    error: stale ? undefined : state.error,
    loading: stale ? key !== null : state.loading,
    updatedAt: stale ? null : state.updatedAt,
    reload: () => void run(),
  };
}
