/**
 * The code this tab last saved for each transform, in sessionStorage with the transform's
 * Version, so that the editor shows it at once (and while its job deploys it); otherwise
 * the editor reads the deployed version's code from the API.
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
