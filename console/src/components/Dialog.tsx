/**
 * One modal dialog at a time, rendered outside the page's shell; while it is open the shell
 * is `inert` (and aria-hidden), so keyboard, pointer and screen readers (and tests) reach only the dialog.
 */
import { signal } from '@preact/signals';
import type { ComponentChildren, VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

const current = signal<VNode | null>(null);

export function openDialog(content: VNode): void {
  current.value = content;
}

export function closeDialog(): void {
  current.value = null;
}

export function DialogHost() {
  const content = current.value;
  useEffect(() => {
    const shell = document.getElementById('shell');
    if (!shell) return;
    if (content) {
      const opener = document.activeElement as HTMLElement | null;
      // inert keeps focus and clicks out; aria-hidden tells assistive technology that
      // does not know inert yet.
      shell.setAttribute('inert', '');
      shell.setAttribute('aria-hidden', 'true');
      return () => {
        shell.removeAttribute('inert');
        shell.removeAttribute('aria-hidden');
        opener?.focus();
      };
    }
  }, [content !== null]);
  return content;
}

/** The dialog's frame: a heading as its name, focus moved in, Escape closes. */
export function Dialog({ title, children, onClose }: { title: string; children: ComponentChildren; onClose?: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[data-autofocus], input, select, textarea, button')?.focus();
  }, []);
  const close = onClose ?? closeDialog;
  return (
    <div class="backdrop" onKeyDown={(e) => e.key === 'Escape' && close()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={ref}>
        <h2 id="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  );
}
