/** Identifier checks shared by the SQL stores: table names are interpolated, never user input. */
import { WebhookVerificationError } from '../errors.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function quoteIdent(name: string, what: string): string {
  if (!IDENT.test(name)) {
    throw new WebhookVerificationError('invalid_options', `${what} must match ${IDENT}, got ${JSON.stringify(name)}`);
  }
  return `"${name}"`;
}

/** Expired rows are reclaimed by the claim itself; a sweep every N claims only bounds growth from ids never seen again. */
export const PRUNE_EVERY_CLAIMS = 1000;
