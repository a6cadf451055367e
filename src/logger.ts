import { pino, type Logger } from 'pino';

/** Secrets must never reach logs: redact anything that could carry one. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie', 'headers.cookie', 'req.headers["x-herald-csrf"]', '*.portalToken', 'portalToken', '*.token', 'token', '*.secret', 'secret', '*.apiKey', 'apiKey', '*.headers["webhook-signature"]'],
      censor: '[redacted]',
    },
  });
}
