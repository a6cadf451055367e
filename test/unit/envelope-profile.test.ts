import { describe, expect, it } from 'vitest';
import { envelopeRenderer } from '../../src/core/envelope.js';
import { normaliseEnvelopeProfile, profileRenderer, rawRenderer } from '../../src/core/envelope-profile.js';
import { HeraldError } from '../../src/errors.js';

const at = Date.parse('2026-03-01T10:00:00.123Z');

describe('envelope profiles', () => {
  it("renders Herald's envelope byte for byte when every part is the default", () => {
    const p = normaliseEnvelopeProfile({})!;
    const data = { name: 'Zoë', n: 1e-7, deep: [{ a: null }] };
    expect(profileRenderer(p, { id: 'evt_1', type: 'a.b', timestamp: at, data })(7))
      .toBe(envelopeRenderer({ id: 'evt_1', type: 'a.b', timestamp: new Date(at).toISOString(), data })(7));
  });

  it('renames fields, writes unix seconds, leaves the sequence out and puts given extras before data, in order', () => {
    const p = normaliseEnvelopeProfile({ fields: { type: 'event', timestamp: 'created' }, timestampFormat: 'unix', sequence: false, extra: ['workspaceId', 'orgId'] })!;
    const render = profileRenderer(p, { id: 'evt_1', type: 'person.created', timestamp: at, data: { x: 1 }, fields: { orgId: 'o', workspaceId: 'w' } });
    expect(render(1)).toBe('{"id":"evt_1","event":"person.created","created":1772359200,"workspaceId":"w","orgId":"o","data":{"x":1}}');
    expect(render(2)).toBe(render(1)); // no sequence: the same bytes whatever it is
    expect(render.maxBytes).toBeGreaterThanOrEqual(Buffer.byteLength(render(1)));
    const missing = profileRenderer(p, { id: 'evt_1', type: 't', timestamp: at, data: {}, fields: { orgId: 'o' } });
    expect(JSON.parse(missing(1))).toEqual({ id: 'evt_1', event: 't', created: 1772359200, orgId: 'o', data: {} });
  });

  it.each([
    [{ fields: { type: 'data' } }, '/envelopeProfile/fields/type'],
    [{ fields: { timestamp: 'sequence' } }, '/envelopeProfile/fields/timestamp'],
    [{ fields: { id: 'x', type: 'x' } }, '/envelopeProfile/fields/type'],
    [{ extra: ['ok', 'id'] }, '/envelopeProfile/extra/1'],
    [{ extra: ['a', 'a'] }, '/envelopeProfile/extra/1'],
    [{ extra: ['1abc'] }, '/envelopeProfile/extra/0'],
    [{ extra: Array.from({ length: 17 }, (_, i) => `f${i}`) }, '/envelopeProfile/extra'],
  ])('refuses %j, naming %s', (p, path) => {
    let err: unknown;
    try {
      normaliseEnvelopeProfile(p);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeraldError);
    expect(err).toMatchObject({ code: 'invalid_envelope_profile', status: 422, details: { path } });
  });

  it('lets `sequence` be a field name once the counter is off', () => {
    expect(normaliseEnvelopeProfile({ sequence: false, extra: ['sequence'] })?.extra).toEqual(['sequence']);
  });

  it('sends a raw payload as compact JSON, the same bytes for every sequence', () => {
    const r = rawRenderer({ b: [1, 'ë'], a: 1e-7 });
    expect(r(1)).toBe('{"b":[1,"ë"],"a":1e-7}');
    expect(r(99)).toBe(r(1));
    expect(r.maxBytes).toBe(Buffer.byteLength(r(1)));
  });
});
