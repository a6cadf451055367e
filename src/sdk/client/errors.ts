/**
 * What every failed call throws. `status` and `code` come from the API's
 * `{"error": {"code", "message", "details"}}`; a request that got no response has status 0
 * and code `network_error` or `timeout`.
 */
export class HeraldApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;

  constructor(status: number, code: string, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HeraldApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}
