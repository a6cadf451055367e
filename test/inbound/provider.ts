import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One change of a page, as the provider's webhooks and its changes API both describe it. */
export interface Change {
  id: string;
  page: { id: string; version: number };
  updatedAt: number;
}

export interface ProviderRequest {
  url: URL;
  headers: IncomingHttpHeaders;
}

/**
 * A provider on loopback with a changes API, for polling tests:
 * - `GET /changes?after=<n>`: `{results, next}`, `pageSize` changes from index n (a sync token:
 *   `next` is the index after the last one returned, also on an empty page);
 * - `GET /pages?updated_after=<ms>`: `{data}`, the `pageSize` changes updated after it, oldest first.
 * `fail` answers a request instead (a 500, a 429 with Retry-After, a hang); `delayMs` slows
 * every answer; `inFlight`/`maxInFlight` count concurrent requests.
 */
export class Provider {
  readonly changes: Change[] = [];
  readonly requests: ProviderRequest[] = [];
  pageSize = 2;
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  fail: (req: ProviderRequest, index: number) => { status: number; headers?: Record<string, string>; body?: string } | 'hang' | null = () => null;
  url = '';
  private server!: Server;

  /** Adds a change of `page` with the next version. */
  change(page: string, at = Date.now()): Change {
    const version = this.changes.filter((c) => c.page.id === page).length + 1;
    const c: Change = { id: `${page}@${version}`, page: { id: page, version }, updatedAt: at };
    this.changes.push(c);
    return c;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const r: ProviderRequest = { url: new URL(req.url ?? '/', 'http://provider'), headers: req.headers };
      this.requests.push(r);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const answer = () => {
        this.inFlight--;
        const failure = this.fail(r, this.requests.length - 1);
        if (failure === 'hang') return;
        if (failure) {
          res.writeHead(failure.status, failure.headers ?? {}).end(failure.body ?? 'provider error');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answer(r.url)));
      };
      if (this.delayMs > 0) setTimeout(answer, this.delayMs);
      else answer();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private answer(url: URL): unknown {
    if (url.pathname === '/pages') {
      const after = Number(url.searchParams.get('updated_after') ?? '0');
      return { data: [...this.changes].sort((a, b) => a.updatedAt - b.updatedAt).filter((c) => c.updatedAt > after).slice(0, this.pageSize) };
    }
    const from = Number(url.searchParams.get('after') ?? '0');
    const results = this.changes.slice(from, from + this.pageSize);
    return { results, next: String(from + results.length) };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
