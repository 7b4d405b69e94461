/**
 * Every tab, filter, range and page lives in the URL's query, so a link reopens the same
 * view. Defaults are left out of the URL; values outside a parameter's choices read as
 * the default.
 */
import { useLocation } from 'preact-iso';

export type Query = Record<string, string | undefined>;

export function readParam<T extends string>(query: Query, name: string, fallback: T, choices?: readonly T[]): T {
  const value = query[name];
  if (value === undefined || value === '') return fallback;
  if (choices && !choices.includes(value as T)) return fallback;
  return value as T;
}

/** `path` with the query updated: `undefined`, '' or the parameter's default removes it. */
export function withParams(path: string, query: Query, updates: Query, defaults: Query = {}): string {
  const merged: Query = { ...query, ...updates };
  const search = new URLSearchParams();
  for (const name of Object.keys(merged).sort()) {
    const value = merged[name];
    if (value === undefined || value === '' || value === defaults[name]) continue;
    search.set(name, value);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * The query as the router gives it, and a setter that writes updates into the URL. The
 * setter merges into the URL as it is when called, not as it was rendered, so two updates
 * in a row (a form's values, then the job it started) both stay.
 */
export function useUrlQuery(defaults: Query = {}) {
  const location = useLocation();
  const query = location.query as Query;
  const set = (updates: Query, options: { replace?: boolean } = {}) => {
    const now = Object.fromEntries(new URLSearchParams(window.location.search));
    location.route(withParams(window.location.pathname, now, updates, defaults), options.replace ?? false);
  };
  return { query, set, path: location.path };
}
