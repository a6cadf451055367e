/**
 * One error type for everything Herald reports to a caller. Code → HTTP status
 * lives in one table so the API edge maps errors without knowing where they came from.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  invalid_token: 401,
  verification_failed: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  delivery_in_flight: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  schema_validation_failed: 422,
  invalid_endpoint_url: 422,
  invalid_schema: 422,
  invalid_header: 422,
  invalid_secret: 422,
  invalid_source: 422,
  invalid_alert_rule: 422,
  invalid_filter: 422,
  invalid_envelope_profile: 422,
  invalid_payload: 422,
  invalid_transform: 422,
  transform_failed: 422,
  unknown_event_type: 422,
  payload_too_deep: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  unavailable: 503,
  storage_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeraldError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    const error: { code: ErrorCode; message: string; details?: unknown } = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export const notFound = (what: string, id: string): HeraldError =>
  new HeraldError('not_found', `${what} '${id}' not found`);

/** Configuration problems are reported before anything starts; they never reach HTTP. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
