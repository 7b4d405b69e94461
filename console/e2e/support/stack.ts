/** Where the stack under test is, and who may sign in to it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const API_URL = (process.env.TRIBUTARY_API_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
export const CONSOLE_URL = `${API_URL}/console/`;

export interface User {
  name: string;
  password: string;
  tenant: string;
}

/** TRIBUTARY_USERS = `name:password=tenant[,…]`, as tributary-local reads it. */
export function users(): User[] {
  return (process.env.TRIBUTARY_USERS ?? 'dev:dev=dev,other:other=other').split(',').map((entry) => {
    const [login, tenant] = entry.split('=');
    const [name, password] = login.split(':');
    return { name, password, tenant };
  });
}

export function user(name: string): User {
  const found = users().find((u) => u.name === name);
  if (!found) throw new Error(`TRIBUTARY_USERS has no user ${name}`);
  return found;
}

/** The repository's root (the console is one of its folders). */
export const REPO = fileURLToPath(new URL('../../..', import.meta.url));

export function seedFile(name: string): string {
  return readFileSync(join(REPO, 'tests/seed', name), 'utf8');
}

/** The seed's data.csv rows (tests/test_delivery.py::seed_csv): id,company,price,sector. */
export function seedRows(tag: string): string[] {
  const rows: [string, string, string][] = [
    ['Initech', '10.5', 'TECHNOLOGY'],
    ['Gringotts', '99.0', 'FINANCIAL'],
    ['Hooli', '12.0', 'TECHNOLOGY'],
    ['Mediplus', '7.5', 'HEALTHCARE'],
    ['Acme Power', '3.2', 'ENERGY'],
    ['ShopRite', '1.1', 'RETAIL'],
    ['Iron Bank', '50.0', 'FINANCIAL'],
    ['Weyland', '1.0', 'AEROSPACE'],
    ['Pied Piper', '8.0', 'TECHNOLOGY'],
    ['Bank of Braavos', '70.0', 'FINANCIAL'],
    ['Umbrella Health', '4.4', 'HEALTHCARE'],
  ];
  return rows.map(([company, price, sector], i) => `${i + 1},${company} ${tag},${price},${sector}\n`);
}
