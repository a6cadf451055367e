/**
 * Every /v1 operation the client calls: operationId → method and path, as in /openapi.json.
 * A test compares this table with the server's document, so neither can change alone.
 */
export const ROUTES = {
  createApp: ['POST', '/v1/apps'],
  listApps: ['GET', '/v1/apps'],
  getApp: ['GET', '/v1/apps/{app}'],
  updateApp: ['PATCH', '/v1/apps/{app}'],
  deleteApp: ['DELETE', '/v1/apps/{app}'],

  createEventType: ['POST', '/v1/event-types'],
  listEventTypes: ['GET', '/v1/event-types'],
  getEventType: ['GET', '/v1/event-types/{name}'],
  updateEventType: ['PATCH', '/v1/event-types/{name}'],
  archiveEventType: ['DELETE', '/v1/event-types/{name}'],

  createEndpoint: ['POST', '/v1/apps/{app}/endpoints'],
  listEndpoints: ['GET', '/v1/apps/{app}/endpoints'],
  getEndpoint: ['GET', '/v1/apps/{app}/endpoints/{ep}'],
  updateEndpoint: ['PATCH', '/v1/apps/{app}/endpoints/{ep}'],
  deleteEndpoint: ['DELETE', '/v1/apps/{app}/endpoints/{ep}'],
  getEndpointSecret: ['GET', '/v1/apps/{app}/endpoints/{ep}/secret'],
  rotateEndpointSecret: ['POST', '/v1/apps/{app}/endpoints/{ep}/secret/rotate'],
  sendTestEvent: ['POST', '/v1/apps/{app}/endpoints/{ep}/test'],
  recoverEndpoint: ['POST', '/v1/apps/{app}/endpoints/{ep}/recover'],
  testEndpointFilter: ['POST', '/v1/apps/{app}/endpoints/{ep}/filter/test'],
  testFilter: ['POST', '/v1/filters/test'],
  testEndpointTransform: ['POST', '/v1/apps/{app}/endpoints/{ep}/transform/test'],
  getEndpointStats: ['GET', '/v1/apps/{app}/endpoints/{ep}/stats'],
  getEndpointTimeseries: ['GET', '/v1/apps/{app}/endpoints/{ep}/stats/timeseries'],
  listEndpointDeliveries: ['GET', '/v1/apps/{app}/endpoints/{ep}/deliveries'],
  /** a WebSocket (the relay of `herald listen`), not a JSON call: see Endpoints.relayUrl */
  connectRelay: ['GET', '/v1/apps/{app}/endpoints/{ep}/relay'],

  publishEvent: ['POST', '/v1/apps/{app}/events'],
  publishEvents: ['POST', '/v1/apps/{app}/events/batch'],
  listEvents: ['GET', '/v1/apps/{app}/events'],
  getEvent: ['GET', '/v1/apps/{app}/events/{id}'],

  listDeliveries: ['GET', '/v1/apps/{app}/deliveries'],
  getDelivery: ['GET', '/v1/apps/{app}/deliveries/{id}'],
  retryDelivery: ['POST', '/v1/apps/{app}/deliveries/{id}/retry'],

  createSource: ['POST', '/v1/sources'],
  listSources: ['GET', '/v1/sources'],
  getSource: ['GET', '/v1/sources/{id}'],
  updateSource: ['PATCH', '/v1/sources/{id}'],
  deleteSource: ['DELETE', '/v1/sources/{id}'],
  listSourceRequests: ['GET', '/v1/sources/{id}/requests'],
  getSourceRequest: ['GET', '/v1/sources/{id}/requests/{req}'],
  getSourceRequestBody: ['GET', '/v1/sources/{id}/requests/{req}/body'],
  replaySourceRequest: ['POST', '/v1/sources/{id}/requests/{req}/replay'],
  replaySource: ['POST', '/v1/sources/{id}/replay'],
  pollSource: ['POST', '/v1/sources/{id}/poll'],
  testSourceRouting: ['POST', '/v1/sources/{id}/routing/test'],

  createAlertRule: ['POST', '/v1/alert-rules'],
  listAlertRules: ['GET', '/v1/alert-rules'],
  getAlertRule: ['GET', '/v1/alert-rules/{id}'],
  updateAlertRule: ['PATCH', '/v1/alert-rules/{id}'],
  deleteAlertRule: ['DELETE', '/v1/alert-rules/{id}'],
  getAlertRuleHistory: ['GET', '/v1/alert-rules/{id}/history'],
  createAppAlertRule: ['POST', '/v1/apps/{app}/alert-rules'],
  listAppAlertRules: ['GET', '/v1/apps/{app}/alert-rules'],
  getAppAlertRule: ['GET', '/v1/apps/{app}/alert-rules/{id}'],
  updateAppAlertRule: ['PATCH', '/v1/apps/{app}/alert-rules/{id}'],
  deleteAppAlertRule: ['DELETE', '/v1/apps/{app}/alert-rules/{id}'],
  getAppAlertRuleHistory: ['GET', '/v1/apps/{app}/alert-rules/{id}/history'],

  createPortalAccess: ['POST', '/v1/apps/{app}/portal-access'],
  expirePortalAccess: ['POST', '/v1/apps/{app}/portal-access/expire-all'],
  createSession: ['POST', '/v1/sessions'],
  getSession: ['GET', '/v1/session'],
  deleteSession: ['DELETE', '/v1/session'],
} as const satisfies Record<string, readonly [string, string]>;

export type OperationId = keyof typeof ROUTES;
