/** A record's payload: a short preview that expands, raw or pretty-printed JSON. */
export function prettyJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

const PREVIEW = 160;

export function RecordData({ text, base64, view }: { text?: string | null; base64?: string | null; view: 'raw' | 'json' }) {
  if (text === undefined || text === null) {
    if (!base64) return <span class="muted">empty</span>;
    return (
      <span>
        <span class="muted small">binary (base64) </span>
        <code class="ellipsis">{base64}</code>
      </span>
    );
  }
  // A CSV line's own line break is part of the record, not worth a second line on screen.
  const body = text.replace(/\r?\n$/, '');
  const shown = view === 'json' ? prettyJson(body) ?? body : body;
  const notJson = view === 'json' && prettyJson(body) === null;
  if (shown.length <= PREVIEW && !shown.includes('\n')) {
    return (
      <span>
        <code class="data">{shown}</code>
        {notJson && <span class="muted small"> (not JSON)</span>}
      </span>
    );
  }
  return (
    <details class="data-details">
      <summary>
        <code class="data">{shown.replace(/\s+/g, ' ').slice(0, PREVIEW)}…</code>
      </summary>
      <pre class="code" tabIndex={0}>{shown}</pre>
    </details>
  );
}
