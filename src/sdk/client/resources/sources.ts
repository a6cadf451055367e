import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type {
  InboundRequest, InboundRequestDetail, PageQuery, PollNow, PollResult, Replay, RequestListQuery, RoutingTest, RoutingTestResult, Source, SourceCreate, SourcePatch,
} from '../types.js';

/** The inbound gateway: sources, their request log, and replay. */
export class Sources {
  constructor(private readonly t: Transport) {}

  create(body: SourceCreate): Promise<Source> {
    return this.t.call('createSource', { body });
  }
  list(query: PageQuery = {}): PageList<Source> {
    return this.t.list<Source>('listSources', {}, query);
  }
  get(id: string): Promise<Source> {
    return this.t.call('getSource', { params: { id }, retry: true });
  }
  /** `destinations` replaces the list; give an HTTP destination's id to keep it */
  update(id: string, body: SourcePatch): Promise<Source> {
    return this.t.call('updateSource', { params: { id }, body });
  }
  delete(id: string): Promise<void> {
    return this.t.call('deleteSource', { params: { id } });
  }
  /** the request log, newest first */
  requests(id: string, query: RequestListQuery = {}): PageList<InboundRequest> {
    return this.t.list<InboundRequest>('listSourceRequests', { id }, query);
  }
  request(id: string, req: string): Promise<InboundRequestDetail> {
    return this.t.call('getSourceRequest', { params: { id, req }, retry: true });
  }
  /** the bytes as received, with their original content type */
  async requestBody(id: string, req: string): Promise<{ contentType: string | null; body: Uint8Array }> {
    const res = await this.t.call<Response>('getSourceRequestBody', { params: { id, req }, retry: true, raw: true });
    return { contentType: res.headers.get('content-type'), body: new Uint8Array(await res.arrayBuffer()) };
  }
  replayRequest(id: string, req: string): Promise<{ replayed: number }> {
    return this.t.call('replaySourceRequest', { params: { id, req } });
  }
  /** forwards again the deliveries of requests received in [since, until) that ended in `status` (default failed) */
  replay(id: string, body: Replay): Promise<{ replayed: number }> {
    return this.t.call('replaySource', { params: { id }, body });
  }
  /** polls the provider's changes API now (`{cursor: null}`: from the start) and answers what the run found */
  poll(id: string, body: PollNow = {}): Promise<PollResult> {
    return this.t.call('pollSource', { params: { id }, body });
  }
  /** which destinations get a request ({request: {headers, body, query}} or {requestId}), each destination's filter explained */
  testRouting(id: string, body: RoutingTest): Promise<RoutingTestResult> {
    return this.t.call('testSourceRouting', { params: { id }, body });
  }
}
