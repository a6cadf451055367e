/**
 * A relay endpoint has no URL of its own: its deliveries go down a WebSocket that a
 * `herald listen` process opened to this server, which replays them against a URL on the
 * developer's machine. It is stored as an ordinary endpoint whose url is this marker, so every
 * other part of the engine (fan-out, retries, ordering, health, the delivery log) treats it
 * like any other.
 */
export const RELAY_URL = 'relay:';

export const isRelay = (endpoint: { url: string }): boolean => endpoint.url === RELAY_URL;
