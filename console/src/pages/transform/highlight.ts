/**
 * A small Python highlighter: enough tokens (comments, strings, numbers, keywords, builtins,
 * decorators, the names being defined) to read a transform at a glance, in ~1 KB rather
 * than an editor's hundreds.
 */

export type TokenKind = 'comment' | 'string' | 'number' | 'keyword' | 'builtin' | 'decorator' | 'definition' | 'plain';

export interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case'.split(
    ' ',
  ),
);
const BUILTINS = new Set('print len str int float bool dict list set tuple range enumerate zip map filter sorted min max sum abs isinstance open repr type Exception ValueError KeyError'.split(' '));

const PATTERN =
  /(#[^\n]*)|((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|(@[A-Za-z_][\w.]*)|([A-Za-z_]\w*)/g;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  let defining = false;
  const push = (kind: TokenKind, text: string) => {
    const previous = tokens[tokens.length - 1];
    if (previous && previous.kind === kind && kind === 'plain') previous.text += text;
    else tokens.push({ kind, text });
  };
  for (const match of source.matchAll(PATTERN)) {
    const index = match.index ?? 0;
    if (index > last) push('plain', source.slice(last, index));
    const [text, comment, string, number, decorator, word] = match;
    if (comment) push('comment', text);
    else if (string) push('string', text);
    else if (number) push('number', text);
    else if (decorator) push('decorator', text);
    else if (word) {
      if (defining) push('definition', text);
      else push(KEYWORDS.has(word) ? 'keyword' : BUILTINS.has(word) ? 'builtin' : 'plain', text);
      defining = word === 'def' || word === 'class';
      last = index + text.length;
      continue;
    }
    defining = false;
    last = index + text.length;
  }
  if (last < source.length) push('plain', source.slice(last));
  return tokens;
}
