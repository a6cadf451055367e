import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { WebhookVerificationError } from '../../src/sdk/receiver/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/sdk/receiver');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Runtime imports only: `import type …` and `export type …` vanish at compile time. */
function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  const re = /^\s*(import|export)\s+(?!type\b)[^'";]*?from\s+['"]([^'"]+)['"]/gm;
  for (let m = re.exec(source); m; m = re.exec(source)) specs.push(m[2]);
  const bare = /^\s*import\s+['"]([^'"]+)['"]/gm;
  for (let m = bare.exec(source); m; m = bare.exec(source)) specs.push(m[1]);
  const dynamic = /import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = dynamic.exec(source); m; m = dynamic.exec(source)) specs.push(m[1]);
  return specs;
}

describe('receiver SDK packaging', () => {
  const files = sourceFiles(ROOT);

  it('finds the SDK sources', () => {
    expect(files.map((f) => relative(ROOT, f))).toContain('index.ts');
    expect(files.length).toBeGreaterThan(10);
  });

  it('loads no package or node: module at run time, so the entry works in any Web Crypto runtime', () => {
    for (const file of files) {
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        expect({ file: relative(ROOT, file), spec }).toEqual({ file: relative(ROOT, file), spec: expect.stringMatching(/^\.\.?\//) });
      }
    }
  });

  it('imports nothing from the server code outside src/sdk/receiver', () => {
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      const all = [...source.matchAll(/from\s+['"](\.[^'"]+)['"]/g)].map((m) => m[1]);
      for (const spec of all) {
        const target = resolve(dirname(file), spec);
        expect(target.startsWith(ROOT + '/'), `${relative(ROOT, file)} imports ${spec}`).toBe(true);
      }
    }
  });

  it('keeps files small (STYLE: under ~400 lines)', () => {
    for (const file of files) {
      expect(readFileSync(file, 'utf8').split('\n').length, relative(ROOT, file)).toBeLessThan(400);
    }
  });
});

describe('typed client packaging', () => {
  const CLIENT = resolve(ROOT, '../client');
  const files = sourceFiles(CLIENT);

  it('loads nothing at run time but its own files (fetch is all it needs), so it runs in browsers, Deno, Bun and edge runtimes', () => {
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      for (const spec of runtimeImports(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec);
        expect({ file: relative(CLIENT, file), spec, inside: target.startsWith(CLIENT + '/') })
          .toEqual({ file: relative(CLIENT, file), spec: expect.stringMatching(/^\.\.?\//), inside: true });
      }
    }
  });

  it('keeps files small', () => {
    for (const file of files) expect(readFileSync(file, 'utf8').split('\n').length, relative(CLIENT, file)).toBeLessThan(400);
  });
});

describe('WebhookVerificationError', () => {
  it('maps codes to HTTP status and serialises as {"error":{"code","message"}}', () => {
    const cases: Array<[ConstructorParameters<typeof WebhookVerificationError>[0], number]> = [
      ['missing_header', 401],
      ['invalid_signature', 401],
      ['timestamp_too_old', 401],
      ['timestamp_in_future', 401],
      ['invalid_body', 401],
      ['body_too_large', 413],
      ['invalid_secret', 500],
      ['body_already_parsed', 500],
    ];
    for (const [code, status] of cases) {
      const err = new WebhookVerificationError(code, 'why');
      expect(err.status).toBe(status);
      expect(JSON.parse(JSON.stringify(err))).toEqual({ error: { code, message: 'why' } });
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('WebhookVerificationError');
    }
  });
});

describe('test fixtures', () => {
  it('TRICKY_BODY really changes under JSON.parse→stringify (spacing, escapes, numbers, key order)', async () => {
    const { TRICKY_BODY, TRICKY_EVENT } = await import('./helpers.js');
    const reserialised = JSON.stringify(JSON.parse(TRICKY_BODY));
    expect(reserialised).not.toBe(TRICKY_BODY);
    expect(reserialised.startsWith('{"1":"one","2":"two"')).toBe(true);
    expect(JSON.parse(TRICKY_BODY)).toEqual(TRICKY_EVENT);
  });
});

describe('HMAC outside Node', () => {
  it('signs and verifies the same through Web Crypto when node:crypto is not offered', async () => {
    const { createHmac } = await import('node:crypto');
    const data = new TextEncoder().encode('{"id":"evt_1","note":"café"}');
    const raw = new TextEncoder().encode('a-secret');
    const expected = new Uint8Array(createHmac('sha256', 'a-secret').update(data).digest());
    const node = await import('../../src/sdk/receiver/hmac.js');
    const saved = process.getBuiltinModule;
    // The module looks for node:crypto when it loads: load a fresh copy without it.
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
    vi.resetModules();
    let web: typeof node;
    try {
      web = await import('../../src/sdk/receiver/hmac.js');
    } finally {
      process.getBuiltinModule = saved;
      vi.resetModules();
    }
    expect(web).not.toBe(node);
    const webSign = vi.spyOn(globalThis.crypto.subtle, 'sign');
    for (const impl of [node, web]) {
      const key = await impl.importHmacKey(raw, 'sha256');
      webSign.mockClear();
      expect(await impl.hmacSign(key, data)).toEqual(expected);
      expect(webSign).toHaveBeenCalledTimes(impl === web ? 1 : 0);
      expect(await impl.anyHmacMatches([key], [new Uint8Array(32), expected], data)).toBe(true);
      expect(await impl.anyHmacMatches([key], [expected.slice(0, 31), new Uint8Array(32)], data)).toBe(false);
    }
    webSign.mockRestore();
  });
});
