import type { Static } from '@sinclair/typebox';
import { endpointUrlProblem } from '../../core/endpoint-url.js';
import { HeraldError, notFound } from '../../errors.js';
import { POLL_DEFAULTS, POLL_PATH_PATTERN, pollProblem } from '../../inbound/poll-config.js';
import type { Source } from '../../store/inbound.js';
import type { PollResult, PollState, SourcePoll } from '../../store/poll.js';
import type { ApiContext } from '../context.js';
import { PollNowBody, PollResultOut, type PollIn } from '../poll-schemas.js';
import type { Router } from '../router.js';
import { SourceParams } from '../source-schemas.js';

const PATH = new RegExp(POLL_PATH_PATTERN);
const invalid = (field: string, message: string) => new HeraldError('invalid_source', `${field} ${message}`, { field });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A source's poll configuration as stored, from the request's `poll` (undefined: unchanged),
 * checked against the source it ends up on: 422 invalid_source naming the field. Headers
 * omitted on a PATCH keep the current ones (their values are never shown, so they can't be
 * sent back).
 */
export function pollOf(
  ctx: ApiContext, given: PollIn | null | undefined, current: SourcePoll | null, source: Pick<Source, 'verification' | 'dedup'>,
): SourcePoll | null {
  if (given === null) return null;
  if (given === undefined) {
    if (!current) return null;
    const problem = pollProblem(source, current);
    if (problem) throw invalid(problem.field, `${problem.message} (the source polls ${current.url})`);
    return current;
  }
  const urlProblem = endpointUrlProblem(given.url, ctx.addressPolicy);
  if (urlProblem) throw invalid('poll.url', urlProblem);
  const paths: Array<[string, string]> = [['poll.items', given.items], ['poll.key', given.key]];
  if (given.cursor) paths.push('from' in given.cursor ? ['poll.cursor.from', given.cursor.from] : ['poll.cursor.fromItems', given.cursor.fromItems]);
  for (const [field, path] of paths) {
    if (!PATH.test(path)) throw invalid(field, `must be a JSON path like $.results or $.page.id (got ${JSON.stringify(path)})`);
  }
  const headers = given.headers ?? current?.headers ?? {};
  const poll: SourcePoll = {
    url: given.url, intervalSeconds: given.intervalSeconds ?? POLL_DEFAULTS.intervalSeconds,
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    items: given.items, key: given.key, cursor: given.cursor ?? null,
    maxPages: given.maxPages ?? POLL_DEFAULTS.maxPages, timeoutMs: given.timeoutMs ?? POLL_DEFAULTS.timeoutMs,
  };
  for (const [name, value] of Object.entries(poll.headers)) {
    if (/[\r\n\u0000]/.test(value)) throw invalid(`poll.headers.${name}`, 'must not contain CR, LF or NUL');
  }
  const problem = pollProblem(source, poll);
  if (problem) throw invalid(problem.field, problem.message);
  return poll;
}

export const pollResultOut = (r: PollResult) => ({ ...r, startedAt: iso(r.startedAt)!, finishedAt: iso(r.finishedAt)! });

/** What GET shows of a source's polling: the configuration with header names only, and the state. */
export function pollStateOut(source: Source, state: PollState | null) {
  const p = source.poll ?? null;
  return {
    poll: p && {
      url: p.url, headerNames: Object.keys(p.headers), intervalSeconds: p.intervalSeconds, items: p.items, key: p.key,
      cursor: p.cursor, maxPages: p.maxPages, timeoutMs: p.timeoutMs,
    },
    lastPollAt: iso(state?.lastPollAt ?? null),
    lastPollResult: state?.lastResult ? pollResultOut(state.lastResult) : null,
    // Never polled, or a run cut short: due at once (as soon as the worker looks).
    nextPollAt: p ? iso(state?.nextPollAt ?? state?.lastPollAt ?? source.updatedAt) : null,
  };
}

export function sourcePollRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'pollSource', url: '/v1/sources/:id/poll', tag: 'sources',
    summary: "Poll the provider's changes API now (a full sync from the start with {\"cursor\": null}); answers what the run found. 409 while a run is under way",
    params: SourceParams, body: PollNowBody, response: { status: 200, schema: PollResultOut },
    handler: async (req) => {
      const b = req.body as Static<typeof PollNowBody>;
      const source = await ctx.store.getSource(req.params.id);
      if (!source) throw notFound('source', req.params.id);
      if (!source.poll) throw new HeraldError('conflict', `source '${source.id}' has no poll configuration: PATCH it with "poll" first`);
      return pollResultOut(await ctx.poller.pollNow(source, b.cursor));
    },
  });
}
