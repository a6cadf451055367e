/**
 * The API's shapes, derived from the very schemas the server validates requests with and
 * documents in /openapi.json: a change there changes these types. Type-only imports, erased
 * at compile time, so the client loads nothing of the server at run time.
 */
import type { Static } from '@sinclair/typebox';
import type * as S from '../../api/schemas.js';
import type * as I from '../../api/source-schemas.js';
import type * as PS from '../../api/poll-schemas.js';
import type * as P from '../../api/portal-schemas.js';
import type * as A from '../../api/alert-schemas.js';
import type * as T from '../../api/payload-schemas.js';

export interface Page<T> {
  data: T[];
  /** cursor of the last item; pass it back to get the next page (also when done, to poll) */
  iterator: string | null;
  done: boolean;
}

export type App = Static<typeof S.AppOut>;
export type AppCreate = Static<typeof S.AppCreate>;
export type AppPatch = Static<typeof S.AppPatch>;
export type EventType = Static<typeof S.EventTypeOut>;
export type EventTypeCreate = Static<typeof S.EventTypeCreate>;
export type EventTypePatch = Static<typeof S.EventTypePatch>;
export type EventTypeListQuery = Static<typeof S.EventTypeListQuery>;
export type Endpoint = Static<typeof S.EndpointOut>;
export type EndpointCreate = Static<typeof S.EndpointCreate>;
export type EndpointPatch = Static<typeof S.EndpointPatch>;
export type EndpointListQuery = Static<typeof S.EndpointListQuery>;
export type EndpointStats = Static<typeof S.StatsOut>;
export type RotateSecret = Static<typeof S.RotateBody>;
export type Recover = Static<typeof S.RecoverBody>;
export type EventIn = Static<typeof S.EventIn>;
export type Published = Static<typeof S.PublishOut>;
export type BatchPublished = Static<typeof S.BatchPublishOut>;
export type Event = Static<typeof S.EventOut>;
export type EventDetail = Static<typeof S.EventDetailOut>;
export type FilterTest = Static<typeof S.FilterTestIn>;
export type EndpointFilterTest = Static<typeof S.EndpointFilterTestIn>;
export type FilterTestResult = Static<typeof S.FilterTestOut>;
export type TransformTest = Static<typeof T.TransformTestIn>;
export type TransformTestResult = Static<typeof T.TransformTestOut>;
export type EnvelopeProfile = Static<typeof T.EnvelopeProfileSchema>;
export type EventListQuery = Static<typeof S.EventListQuery>;
export type Delivery = Static<typeof S.DeliveryOut>;
export type DeliveryDetail = Static<typeof S.DeliveryDetailOut>;
export type Attempt = Static<typeof S.AttemptOut>;
export type DeliveryListQuery = Static<typeof S.DeliveryListQuery>;
export type PageQuery = Static<typeof S.PageQuery>;
export type Source = Static<typeof I.SourceOut>;
export type SourceCreate = Static<typeof I.SourceCreate>;
export type SourcePatch = Static<typeof I.SourcePatch>;
export type InboundRequest = Static<typeof I.RequestOut>;
export type InboundRequestDetail = Static<typeof I.RequestDetailOut>;
export type RequestListQuery = Static<typeof I.RequestListQuery>;
export type RoutingTest = Static<typeof I.RoutingTestIn>;
export type RoutingTestResult = Static<typeof I.RoutingTestOut>;
export type Replay = Static<typeof I.ReplayBody>;
export type PollNow = Static<typeof PS.PollNowBody>;
export type PollResult = Static<typeof PS.PollResultOut>;
export type TestEvent = Static<typeof S.TestBody>;
export type PortalTheme = Static<typeof S.PortalTheme>;
export type Capability = Static<typeof P.Capability>;
export type Session = Static<typeof P.SessionOut>;
export type SessionCreate = Static<typeof P.SessionCreate>;
export type PortalAccess = Static<typeof P.PortalAccessOut>;
export type PortalAccessCreate = Static<typeof P.PortalAccessBody>;
export type Timeseries = Static<typeof P.TimeseriesOut>;
export type AlertRule = Static<typeof A.AlertRuleOut>;
export type AlertRuleCreate = Static<typeof A.AlertRuleCreate>;
export type AppAlertRuleCreate = Static<typeof A.AppAlertRuleCreate>;
export type AlertRulePatch = Static<typeof A.AlertRulePatch>;
export type AlertHistory = Static<typeof A.AlertHistoryOut>;
export type TimeseriesQuery = Static<typeof P.TimeseriesQuery>;
