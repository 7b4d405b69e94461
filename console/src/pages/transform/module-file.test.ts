import { expect, it } from 'vitest';
import { moduleOf } from './module-file';

const files = [{ Path: 'lib/__init__.py' }, { Path: 'filters/tech.py' }, { Path: 'pkg/__init__.py' }, { Path: 'transform.py' }];

it("finds the handler's module file, or its package's __init__.py", () => {
  expect(moduleOf(files, 'transform.lambda_handler')?.Path).toBe('transform.py');
  expect(moduleOf(files, 'filters.tech.lambda_handler')?.Path).toBe('filters/tech.py');
  expect(moduleOf(files, 'pkg.handler')?.Path).toBe('pkg/__init__.py');
  expect(moduleOf(files, 'missing.handler')).toBeUndefined();
});
