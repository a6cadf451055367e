import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HeraldConfig } from '../config.js';
import { SecretBox } from '../core/secret-box.js';

/** HERALD_API_KEY wins; else the key stored in the data dir; else a new one, stored with mode 0600. */
export function resolveApiKey(config: HeraldConfig): { value: string; generated: boolean; file?: string } {
  if (config.apiKey) return { value: config.apiKey, generated: false };
  const file = join(config.dataDir, 'api-key');
  const { value, created } = readOrCreate(file, () => `hk_${randomBytes(32).toString('base64url')}`);
  return { value, generated: created, file };
}

/**
 * HERALD_ENCRYPTION_KEY wins; else the key stored in the data dir; else a new one, stored
 * with mode 0600. Losing this file makes stored endpoint secrets unreadable: back it up
 * with the database.
 */
export function resolveEncryptionKey(config: HeraldConfig): string {
  if (config.encryptionKey) return config.encryptionKey;
  const file = join(config.dataDir, 'encryption-key');
  return readOrCreate(file, () => SecretBox.generateKey()).value;
}

/**
 * Several processes may start at once on one data dir (PostgreSQL deployments do): the first
 * to create the file wins and the others read its value. The value is written to a private
 * temporary file and hard-linked into place, so nobody ever reads a half-written key.
 */
function readOrCreate(file: string, generate: () => string): { value: string; created: boolean } {
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), created: false };
  mkdirSync(dirname(file), { recursive: true });
  const value = generate();
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${value}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
    return { value, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  } finally {
    unlinkSync(tmp);
  }
}
