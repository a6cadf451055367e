import { pino, type Logger } from 'pino';

/** Secrets must never reach logs: redact anything that could carry one. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.secret', 'secret', '*.apiKey', 'apiKey', '*.headers["webhook-signature"]'],
      censor: '[redacted]',
    },
  });
}
