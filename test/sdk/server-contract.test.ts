// Contract between Herald's outbound signer (server code) and this SDK: what the
// server signs, the receiver verifies. Only the test imports server code; the SDK never does.
import { describe, expect, it } from 'vitest';
import { generateSecret, signLegacyHex, signStandard, standardKey } from '../../src/core/signing.js';
import { verifyWebhook } from '../../src/sdk/receiver/index.js';

describe('Herald server signatures verify with the receiver SDK', () => {
  const secret = generateSecret();
  const body = '{"id":"evt_2x9","type":"invoice.paid","timestamp":"2024-01-15T10:30:00Z","data":{"note":"café"}}';
  const now = 1_700_000_000;

  it('Standard Webhooks headers (webhook-id is the event id)', async () => {
    const headers = {
      'webhook-id': 'evt_2x9',
      'webhook-timestamp': String(now),
      'webhook-signature': signStandard(standardKey(secret), 'evt_2x9', now, body),
    };
    const result = await verifyWebhook(body, headers, secret, { now });
    expect(result).toMatchObject({ id: 'evt_2x9', timestamp: now, scheme: 'standard' });
  });

  it('legacy x-webhook-signature header, deduplicated on the envelope id', async () => {
    const headers = { 'x-webhook-signature': `sha256=${signLegacyHex(secret, body)}` };
    const result = await verifyWebhook(body, headers, secret, { scheme: 'legacy' });
    expect(result).toMatchObject({ id: 'evt_2x9', scheme: 'legacy' });
    await expect(verifyWebhook(body, headers, generateSecret(), { scheme: 'legacy' })).rejects.toMatchObject({
      code: 'invalid_signature',
    });
  });
});
