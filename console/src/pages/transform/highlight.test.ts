import { describe, expect, it } from 'vitest';
import { tokenize } from './highlight';

const kinds = (source: string) => tokenize(source).filter((t) => t.kind !== 'plain').map((t) => [t.kind, t.text]);

describe('tokenize', () => {
  it('finds keywords, the name being defined, builtins, strings and numbers', () => {
    expect(kinds('def lambda_handler(event, context):\n    print("n", len(x), 42)')).toEqual([
      ['keyword', 'def'],
      ['definition', 'lambda_handler'],
      ['builtin', 'print'],
      ['string', '"n"'],
      ['builtin', 'len'],
      ['number', '42'],
    ]);
  });
  it('keeps comments and docstrings whole, including quotes and keywords inside', () => {
    expect(kinds('# if "x"\n"""doc\nreturn"""')).toEqual([
      ['comment', '# if "x"'],
      ['string', '"""doc\nreturn"""'],
    ]);
  });
  it('loses no character: the tokens put together are the source', () => {
    const source = 'import base64\n@decorator\nclass A:\n    x = b"\\x00" if y else 1.5e3  # done\n';
    expect(tokenize(source).map((t) => t.text).join('')).toBe(source);
  });
  it('copes with an unfinished string while typing', () => {
    expect(tokenize('x = "abc').map((t) => t.text).join('')).toBe('x = "abc');
  });
});
