/** Loading, empty and error states, the same everywhere. */
import type { ComponentChildren } from 'preact';
import { ApiError } from '../lib/api';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="state loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state empty">
      <p class="state-title">{title}</p>
      {children && <div class="state-body">{children}</div>}
    </div>
  );
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 404) return 'Not found: it does not exist, was deleted, or belongs to another tenant.';
    if (error.status === 0) return error.message;
    return `${error.message} (HTTP ${error.status})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorState({ error, onRetry, title = 'Could not load this' }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div class="state error" role="alert">
      <p class="state-title">{title}</p>
      <p>{describeError(error)}</p>
      {onRetry && (
        <button type="button" class="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Alert({ messages, tone = 'bad', title }: { messages: string[]; tone?: 'bad' | 'good' | 'info'; title?: string }) {
  if (messages.length === 0) return null;
  return (
    <div class={`alert alert-${tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
      {title && <p class="alert-title">{title}</p>}
      {messages.length === 1 ? <p>{messages[0]}</p> : <ul>{messages.map((m) => <li key={m}>{m}</li>)}</ul>}
    </div>
  );
}
