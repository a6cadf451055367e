/**
 * herald-webhooks/receiver — verify incoming webhooks, keep the raw body in
 * framework middlewares, and drop duplicate deliveries.
 *
 * This entry is portable (no static `node:` imports, nothing from the Herald
 * server; HMACs use node:crypto when the runtime offers it, Web Crypto otherwise). Node-only pieces are re-exported from files that import
 * no Node modules at load time either, so bundlers for edge runtimes can
 * tree-shake them away.
 */
export { WebhookVerificationError, isWebhookVerificationError, type WebhookErrorCode } from './errors.js';
export type { RawBody, SignatureEncoding } from './encoding.js';
export type { HeadersInput, HeadersLike, HeaderValue } from './headers.js';
export type { HmacAlgorithm } from './hmac.js';
export {
  verify,
  verifyWebhook,
  type BodyParser,
  type Secrets,
  type TimeInput,
  type VerifiedWebhook,
  type VerifyOptions,
} from './verify.js';
export { sign, type SignOptions } from './sign.js';
export {
  SCHEME_NAMES,
  githubScheme,
  hmacScheme,
  legacyScheme,
  resolveScheme,
  shopifyScheme,
  slackScheme,
  standardScheme,
  stripeScheme,
  type HmacSchemeOptions,
  type LegacySchemeOptions,
  type Scheme,
  type SchemeName,
  type SchemeSignInput,
  type SchemeVerifyInput,
  type SchemeVerifyResult,
  type SlackSchemeOptions,
  type StandardSchemeOptions,
  type StripeSchemeOptions,
} from './schemes/index.js';
export { DEFAULT_MAX_BODY_BYTES, type WebhookMiddlewareOptions } from './middleware/options.js';
export { nodeWebhook, readRawBody, sendNodeError, verifyNodeRequest, type WebhookRequest } from './middleware/node.js';
export { expressWebhook, webhookOf } from './middleware/express.js';
export { fastifyWebhook, type FastifyWebhookOptions } from './middleware/fastify.js';
export { honoWebhook, type HonoContextLike, type HonoWebhookVariables } from './middleware/hono.js';
export { errorResponse, verifyRequest } from './middleware/fetch.js';
export {
  DEFAULT_DEDUPE_TTL_SECONDS,
  createDeduper,
  memoryStore,
  type DedupeStore,
  type Deduper,
  type DeduperOptions,
  type MemoryStoreOptions,
} from './dedupe.js';
export { sqliteStore, type SqliteDatabaseLike, type SqliteStoreOptions } from './stores/sqlite.js';
export { postgresStore, type PgQueryable, type PostgresStoreOptions } from './stores/postgres.js';
export { redisStore, type RedisLike, type RedisStoreOptions } from './stores/redis.js';
