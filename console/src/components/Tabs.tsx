/**
 * Tabs kept in the URL (`?tab=`): each tab is a link, so a tab can be opened in a new
 * window or shared; arrow keys move between them as in the ARIA tabs pattern.
 */
import type { ComponentChildren } from 'preact';

export interface TabSpec {
  id: string;
  label: string;
}

export function Tabs({ label, tabs, current, hrefFor, children }: { label: string; tabs: TabSpec[]; current: string; hrefFor: (id: string) => string; children: ComponentChildren }) {
  const onKeyDown = (event: KeyboardEvent) => {
    const keys = ['ArrowLeft', 'ArrowRight', 'Home', 'End'];
    if (!keys.includes(event.key)) return;
    event.preventDefault();
    const index = tabs.findIndex((tab) => tab.id === current);
    const next =
      event.key === 'Home' ? 0 : event.key === 'End' ? tabs.length - 1 : (index + (event.key === 'ArrowRight' ? 1 : -1) + tabs.length) % tabs.length;
    const link = (event.currentTarget as HTMLElement).querySelector<HTMLAnchorElement>(`#tab-${tabs[next].id}`);
    link?.click();
    link?.focus();
  };
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} onKeyDown={onKeyDown}>
        {tabs.map((tab) => (
          <a
            key={tab.id}
            id={`tab-${tab.id}`}
            role="tab"
            href={hrefFor(tab.id)}
            aria-selected={tab.id === current}
            aria-controls={`panel-${tab.id}`}
            tabIndex={tab.id === current ? 0 : -1}
            class={tab.id === current ? 'tab current' : 'tab'}
          >
            {tab.label}
          </a>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current}`} aria-labelledby={`tab-${current}`} class="tabpanel">
        {children}
      </div>
    </div>
  );
}
