/** The file a handler `module.function` runs: `module.py`, or a package's `module/__init__.py`. */
export function moduleOf<F extends { Path: string }>(files: F[], handler: string): F | undefined {
  const module = (handler.includes('.') ? handler.slice(0, handler.lastIndexOf('.')) : handler).replaceAll('.', '/');
  return files.find((f) => f.Path === `${module}.py`) ?? files.find((f) => f.Path === `${module}/__init__.py`);
}
