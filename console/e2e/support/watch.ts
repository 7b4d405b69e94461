/**
 * What must not happen while a person uses the console: errors in the browser's console,
 * uncaught exceptions, and any 5xx from the stack.
 */
import type { BrowserContext, Page } from '@playwright/test';

export class Watch {
  readonly problems: string[] = [];

  attach(context: BrowserContext): void {
    context.on('page', (page) => this.page(page));
    for (const page of context.pages()) this.page(page);
  }

  private page(page: Page): void {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      // Chromium logs every 4xx it fetched; the console asks for some on purpose (a bad
      // value's 400, a deleted stream's 404), and shows them. 5xx are caught below.
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
      this.problems.push(`console error on ${page.url()}: ${text}`);
    });
    page.on('pageerror', (error) => this.problems.push(`uncaught on ${page.url()}: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 500) this.problems.push(`${response.status()} from ${response.request().method()} ${response.url()}`);
    });
  }
}
