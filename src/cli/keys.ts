import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeraldConfig } from '../config.js';
import { SecretBox } from '../core/secret-box.js';

/** HERALD_API_KEY wins; else the key stored in the data dir; else a new one, stored with mode 0600. */
export function resolveApiKey(config: HeraldConfig): { value: string; generated: boolean; file?: string } {
  if (config.apiKey) return { value: config.apiKey, generated: false };
  const file = join(config.dataDir, 'api-key');
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), generated: false, file };
  mkdirSync(config.dataDir, { recursive: true });
  const value = `hk_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return { value, generated: true, file };
}

/**
 * HERALD_ENCRYPTION_KEY wins; else the key stored in the data dir; else a new one, stored
 * with mode 0600. Losing this file makes stored endpoint secrets unreadable: back it up
 * with the database.
 */
export function resolveEncryptionKey(config: HeraldConfig): string {
  if (config.encryptionKey) return config.encryptionKey;
  const file = join(config.dataDir, 'encryption-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(config.dataDir, { recursive: true });
  const value = SecretBox.generateKey();
  writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  return value;
}
