import type { Static } from '@sinclair/typebox';
import { isReservedHeader } from '../../delivery/headers.js';
import { HeraldError, notFound } from '../../errors.js';
import type { SignatureProfile } from '../../store/types.js';
import { normaliseEnvelopeProfile } from '../../core/envelope-profile.js';
import { loadApp, pageQuery, type ApiContext } from '../context.js';
import type { Router } from '../router.js';
import { AppCreate, AppListQuery, AppOut, AppParams, AppPatch, pageOf } from '../schemas.js';
import { appOut } from '../wire.js';

type ProfileIn = Static<typeof AppCreate>['signatureProfile'];

/** Branded header names must not collide with the headers Herald always sends. */
function checkProfile(p: ProfileIn): void {
  for (const name of [p?.header, p?.eventHeader]) {
    if (name && isReservedHeader(name)) {
      throw new HeraldError('invalid_header', `'${name}' is a header Herald always sends; pick another name`);
    }
  }
}

const normaliseProfile = (p: ProfileIn): SignatureProfile | null =>
  p ? { header: (p.header ?? 'x-webhook-signature').toLowerCase(), format: p.format ?? 'sha256=hex', eventHeader: (p.eventHeader ?? 'x-webhook-event').toLowerCase() } : null;

/** Apps: one per customer (tenant) of the product that embeds Herald. */
export function appRoutes(r: Router, ctx: ApiContext): void {
  r.add({
    method: 'POST', operationId: 'createApp', url: '/v1/apps', tag: 'apps', summary: 'Create an app', body: AppCreate,
    response: { status: 201, schema: AppOut },
    handler: async (req, reply) => {
      const b = req.body as AppCreate;
      checkProfile(b.signatureProfile);
      const app = await ctx.store.createApp({
        name: b.name, uid: b.uid ?? null, metadata: b.metadata ?? {}, signatureProfile: normaliseProfile(b.signatureProfile), portal: b.portal ?? null,
        envelopeProfile: normaliseEnvelopeProfile(b.envelopeProfile),
      });
      return reply.status(201).send(appOut(app));
    },
  });
  r.add({
    method: 'GET', operationId: 'listApps', url: '/v1/apps', tag: 'apps', summary: 'List apps', querystring: AppListQuery,
    response: { status: 200, schema: pageOf(AppOut) },
    handler: async (req) => {
      const page = await ctx.store.listApps(pageQuery(req));
      return { ...page, data: page.data.map(appOut) };
    },
  });
  r.add({
    method: 'GET', operationId: 'getApp', access: 'view', url: '/v1/apps/:app', tag: 'apps', summary: 'Get an app by id or uid', params: AppParams,
    response: { status: 200, schema: AppOut },
    handler: async (req) => appOut(await loadApp(ctx, req.params.app)),
  });
  r.add({
    method: 'PATCH', operationId: 'updateApp', url: '/v1/apps/:app', tag: 'apps', summary: 'Update an app', params: AppParams, body: AppPatch,
    response: { status: 200, schema: AppOut },
    handler: async (req) => {
      const app = await loadApp(ctx, req.params.app);
      const patch = req.body as AppPatch;
      checkProfile(patch.signatureProfile);
      const updated = await ctx.store.updateApp(app.id, {
        ...patch, signatureProfile: patch.signatureProfile === undefined ? undefined : normaliseProfile(patch.signatureProfile),
        envelopeProfile: patch.envelopeProfile === undefined ? undefined : normaliseEnvelopeProfile(patch.envelopeProfile),
      });
      if (!updated) throw notFound('app', req.params.app);
      return appOut(updated);
    },
  });
  r.add({
    method: 'DELETE', operationId: 'deleteApp', url: '/v1/apps/:app', tag: 'apps', summary: 'Delete an app with its endpoints, events and deliveries',
    params: AppParams, response: { status: 204 },
    handler: async (req, reply) => {
      const app = await loadApp(ctx, req.params.app);
      // A source's app goes with its source, under the source's lock (see deleteSource).
      if (app.sourceId) throw new HeraldError('conflict', `app '${app.id}' belongs to source '${app.sourceId}': delete the source`, { sourceId: app.sourceId });
      await ctx.store.deleteApp(app.id);
      return reply.status(204).send();
    },
  });
}

type AppPatch = Static<typeof AppPatch>;
