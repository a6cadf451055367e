import type { Page } from './types.js';

/**
 * A list call. Iterate it (`for await (const d of list)`) to walk every item across pages,
 * following `iterator` cursors, or take one page at a time with `page()` / `pages()`.
 * Nothing is fetched until one of them is used.
 */
export class PageList<T> implements AsyncIterable<T> {
  constructor(
    private readonly load: (iterator: string | undefined) => Promise<Page<T>>,
    private readonly start?: string,
  ) {}

  /** the first page (from the `iterator` the list was given, if any) */
  page(): Promise<Page<T>> {
    return this.load(this.start);
  }

  async *pages(): AsyncGenerator<Page<T>> {
    let iterator = this.start;
    for (;;) {
      const page = await this.load(iterator);
      yield page;
      if (page.done || !page.iterator || page.iterator === iterator) return;
      iterator = page.iterator;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** every item, at most `max` (default 10,000) */
  async toArray(max = 10_000): Promise<T[]> {
    const out: T[] = [];
    for await (const item of this) {
      if (out.length >= max) break;
      out.push(item);
    }
    return out;
  }
}
