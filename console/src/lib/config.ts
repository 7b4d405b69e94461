/** The runtime configuration served beside index.html, so one build serves every stack. */
export interface ConsoleConfig {
  ApiUrl: string;
  Issuer: string;
  ClientId: string;
}

export async function loadConfig(base = import.meta.env.BASE_URL): Promise<ConsoleConfig> {
  const response = await fetch(`${base}config.json`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const config = (await response.json()) as Partial<ConsoleConfig>;
  for (const key of ['ApiUrl', 'Issuer', 'ClientId'] as const) {
    if (typeof config[key] !== 'string' || !config[key]) throw new Error(`config.json lacks ${key}`);
  }
  return { ApiUrl: trimSlash(config.ApiUrl!), Issuer: trimSlash(config.Issuer!), ClientId: config.ClientId! };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
