import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

export interface Crumb {
  label: string;
  href?: string;
}

/** The page's breadcrumbs, its one h1, and its actions. */
export function PageHeader({ crumbs = [], title, children, badges }: { crumbs?: Crumb[]; title: string; children?: ComponentChildren; badges?: ComponentChildren }) {
  // The tab's title names the page too (history, tabs, screen readers' page announcements).
  useEffect(() => {
    document.title = `${title} · Tributary`;
  }, [title]);
  return (
    <header class="page-header">
      {crumbs.length > 0 && (
        <nav aria-label="Breadcrumb" class="crumbs">
          <ol>
            {crumbs.map((crumb) => (
              <li key={crumb.label}>{crumb.href ? <a href={crumb.href}>{crumb.label}</a> : <span aria-current="page">{crumb.label}</span>}</li>
            ))}
          </ol>
        </nav>
      )}
      <div class="title-row">
        <h1>{title}</h1>
        {badges && <div class="badges">{badges}</div>}
        {children && <div class="actions">{children}</div>}
      </div>
    </header>
  );
}

export const href = (path: string) => `${import.meta.env.BASE_URL}${path.replace(/^\//, '')}`;
