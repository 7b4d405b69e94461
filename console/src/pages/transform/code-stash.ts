/**
 * The API never returns a transform's code (it is write-only), so the editor keeps the code
 * it last saved for each transform in this tab's sessionStorage, with the CodeSha256 the
 * API reported after, to know whether it is still the saved version.
 */
const key = (transformId: string) => `tributary.code.${transformId}`;

export interface Stashed {
  code: string;
  /** The transform's Version when this code was sent. */
  version: number | null;
}

export function stashCode(transformId: string, code: string, version: number | null, storage: Storage = sessionStorage): void {
  storage.setItem(key(transformId), JSON.stringify({ code, version } satisfies Stashed));
}

export function stashedCode(transformId: string, storage: Storage = sessionStorage): Stashed | null {
  try {
    const value = JSON.parse(storage.getItem(key(transformId)) ?? 'null') as Stashed | null;
    return value && typeof value.code === 'string' ? value : null;
  } catch {
    return null;
  }
}

export function forgetCode(transformId: string, storage: Storage = sessionStorage): void {
  storage.removeItem(key(transformId));
}
