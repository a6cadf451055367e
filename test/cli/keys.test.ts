import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtures } from '../helpers/fixtures.js';
import { CLI } from '../helpers/process.js';

const f = fixtures();
const KEYS = pathToFileURL(join(CLI, '..', 'keys.js')).href;

/** Runs resolveApiKey and resolveEncryptionKey in a separate process on one data dir. */
function resolveIn(dataDir: string): Promise<string> {
  const script = `import(${JSON.stringify(KEYS)}).then((k) => {
    const c = { dataDir: ${JSON.stringify(dataDir)} };
    process.stdout.write(JSON.stringify({ enc: k.resolveEncryptionKey(c), api: k.resolveApiKey(c).value }));
  });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

describe('keys kept in the data dir', () => {
  it('several processes starting at once on a new data dir all end with the same keys', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = join(f.tempDir('herald-keys-'), 'data'); // doesn't exist yet either
      const results = await Promise.all(Array.from({ length: 6 }, () => resolveIn(dir)));
      expect(new Set(results).size).toBe(1);
      const { enc, api } = JSON.parse(results[0]);
      expect(readFileSync(join(dir, 'encryption-key'), 'utf8').trim()).toBe(enc);
      expect(readFileSync(join(dir, 'api-key'), 'utf8').trim()).toBe(api);
      expect(statSync(join(dir, 'encryption-key')).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir).sort()).toEqual(['api-key', 'encryption-key']); // no temporary files left
    }
  });
});
