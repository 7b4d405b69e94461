/**
 * A plain textarea over its highlighted copy: typing, selection, undo and screen readers
 * work as in any text field. Tab indents; Escape then Tab leaves the editor.
 */
import { useRef } from 'preact/hooks';
import { tokenize } from './highlight';

export function CodeEditor({ id, value, onValue, describedBy, rows = 22 }: { id: string; value: string; onValue: (value: string) => void; describedBy?: string; rows?: number }) {
  const pre = useRef<HTMLPreElement>(null);
  const escaped = useRef(false);

  const onKeyDown = (event: KeyboardEvent) => {
    const area = event.currentTarget as HTMLTextAreaElement;
    if (event.key === 'Escape') {
      escaped.current = true;
      return;
    }
    if (event.key === 'Tab' && !escaped.current && !event.shiftKey) {
      event.preventDefault();
      const { selectionStart: start, selectionEnd: end } = area;
      const next = `${value.slice(0, start)}    ${value.slice(end)}`;
      onValue(next);
      requestAnimationFrame(() => area.setSelectionRange(start + 4, start + 4));
    }
    escaped.current = false;
  };
  const syncScroll = (event: Event) => {
    const area = event.currentTarget as HTMLTextAreaElement;
    if (pre.current) {
      pre.current.scrollTop = area.scrollTop;
      pre.current.scrollLeft = area.scrollLeft;
    }
  };

  return (
    <div class="code-editor">
      <pre ref={pre} aria-hidden="true" class="code-layer">
        {tokenize(value).map((token, i) => (token.kind === 'plain' ? token.text : <span key={i} class={`tok-${token.kind}`}>{token.text}</span>))}
        {/* A trailing newline needs a character after it to take up its line. */}
        {value.endsWith('\n') ? ' ' : ''}
      </pre>
      <textarea
        id={id}
        class="code-input"
        rows={rows}
        value={value}
        spellcheck={false}
        autoComplete="off"
        autoCapitalize="off"
        wrap="off"
        aria-describedby={describedBy}
        onInput={(e) => onValue(e.currentTarget.value)}
        onKeyDown={onKeyDown}
        onScroll={syncScroll}
      />
    </div>
  );
}
