import type { PageList } from '../pages.js';
import type { Transport } from '../transport.js';
import type { EventType, EventTypeCreate, EventTypeListQuery, EventTypePatch } from '../types.js';

/** The catalogue of event types, optionally with a JSON Schema for `data`. */
export class EventTypes {
  constructor(private readonly t: Transport) {}

  create(body: EventTypeCreate): Promise<EventType> {
    return this.t.call('createEventType', { body });
  }
  list(query: EventTypeListQuery = {}): PageList<EventType> {
    return this.t.list<EventType>('listEventTypes', {}, query);
  }
  get(name: string): Promise<EventType> {
    return this.t.call('getEventType', { params: { name }, retry: true });
  }
  update(name: string, body: EventTypePatch): Promise<EventType> {
    return this.t.call('updateEventType', { params: { name }, body });
  }
  /** archived types stay valid for existing events and are hidden from the list */
  archive(name: string): Promise<EventType> {
    return this.t.call('archiveEventType', { params: { name } });
  }
}
