import { useState } from 'preact/hooks';

/** Copies `text`; says so for a moment (and to screen readers). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      ok = copyBySelection(text);
    }
    setCopied(ok ? 'yes' : 'no');
    setTimeout(() => setCopied(null), 2000);
  };
  return (
    <button type="button" class="button small copy" onClick={copy}>
      {label}
      <span class="copied" role="status">
        {copied === 'yes' ? ' ✓ Copied' : copied === 'no' ? ' — select and copy by hand' : ''}
      </span>
    </button>
  );
}

/** Where the Clipboard API is refused (no permission), the older way. */
function copyBySelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  return ok;
}
