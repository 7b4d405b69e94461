/**
 * The committed API types must be what openapi-typescript makes of the API's current
 * OpenAPI document: a change to the contract that the console has not taken up fails here
 * (run `npm run api-types`, then fix what no longer type-checks).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

it('src/api/schema.d.ts is generated from ../shared/src/api/openapi.yaml as it is now', () => {
  const root = resolve(__dirname, '../..');
  const fresh = join(mkdtempSync(join(tmpdir(), 'api-types-')), 'schema.d.ts');
  execFileSync(process.execPath, [join(root, 'node_modules/openapi-typescript/bin/cli.js'), join(root, '../shared/src/api/openapi.yaml'), '-o', fresh], { stdio: 'pipe' });
  const committed = readFileSync(join(root, 'src/api/schema.d.ts'), 'utf8');
  expect(committed === readFileSync(fresh, 'utf8'), 'src/api/schema.d.ts is stale: run `npm run api-types`').toBe(true);
}, 30_000);
