import { afterAll, describe, expect, it } from 'vitest';
import { Sandbox } from '../../src/transform/sandbox.js';

/** The transform sandbox on its own: limits, errors, isolation, recovery. */
const sandbox = new Sandbox();
afterAll(() => sandbox.close());
const input = JSON.stringify({ type: 'person.created', url: 'https://example.com/hook', headers: { 'x-team': 'blue' }, payload: { id: 'evt_1', data: { name: 'Zoë', n: 1e-7 } } });
const run = (source: string) => sandbox.run(source, input);

describe('transform sandbox', () => {
  it('runs transform(webhook) and returns what it made as JSON; null skips', async () => {
    const r = await run('function transform(w) { w.payload = { name: w.payload.data.name, n: w.payload.data.n }; w.headers.a = "1"; return w; }');
    expect(r).toEqual({ ok: true, output: JSON.stringify({ url: 'https://example.com/hook', headers: { 'x-team': 'blue', a: '1' }, body: '{"name":"Zoë","n":1e-7}' }) });
    expect(await run('function transform(w) { return null; }')).toEqual({ ok: true, output: 'null' });
  });

  it.each([
    ['an infinite loop', 'function transform(w) { for (;;) {} }', /^took longer than 50 ms$/],
    ['an infinite loop at the top level', 'while (true) {}', /^took longer than 200 ms to load/],
    ['a memory bomb', 'function transform(w) { const a = []; for (;;) a.push(new ArrayBuffer(1 << 20)); }', /^(ran out of memory \(16 MiB limit\)|took longer than 50 ms \(stopped after 1000 ms\))$/],
    ['one allocation past the memory limit', 'function transform(w) { w.payload = new Uint8Array(64 << 20).length; return w; }', /^(ran out of memory \(16 MiB limit\)|RangeError: .*)/],
    ['a huge output', 'function transform(w) { w.payload = "x".repeat(2 << 20); return w; }', /larger than the 1048576-byte limit/],
    ['a huge non-ASCII output', 'function transform(w) { w.payload = "ë".repeat(600000); return w; }', /larger than the 1048576-byte limit/],
    ['a thrown error', 'function transform(w) { throw new Error("boom " + w.type); }', /^Error: boom person\.created \(line 1\)$/],
    ['a syntax error', 'function transform(w) {\n  return w.\n}', /^SyntaxError: .* \(line 3\)$/],
    ['runaway recursion', 'function f() { return f() + 1; } function transform(w) { return f(); }', /^stack overflow/],
    ['no transform function', 'var transform = 1;', /must define function transform/],
    ['returning nothing', 'function transform(w) { w.payload = {}; }', /must return the webhook object/],
  ])('fails %s with a message, and the next run works', async (_name, source, error) => {
    const r = await run(source);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toMatch(error);
    expect((await run('function transform(w) { return w; }')).ok).toBe(true);
  });

  it('gives no I/O, no Node and no host objects, and a fixed Math.random', async () => {
    const probe = 'function transform(w) { w.payload = [typeof require, typeof process, typeof fetch, typeof std, typeof os, typeof globalThis.Buffer, typeof XMLHttpRequest, typeof setTimeout, Math.random()]; return w; }';
    const a = JSON.parse(JSON.parse((await run(probe) as { output: string }).output).body);
    expect(a.slice(0, 8)).toEqual(Array(8).fill('undefined'));
    const b = JSON.parse(JSON.parse((await run(`${probe}\n// another source, another runtime`) as { output: string }).output).body);
    expect(b[8]).toBe(a[8]);
  });

  it("stops a native call that never looks at the deadline by ending the thread; the other runs it had still finish", async () => {
    const bomb = 'function transform(w) { const a = []; for (;;) a.push(new Array(100000).fill(a.length)); }';
    const [bad, ...good] = await Promise.all([run(bomb), ...Array.from({ length: 5 }, (_, i) => run(`function transform(w) { w.payload = ${i}; return w; }`))]);
    expect(bad.ok).toBe(false);
    // Whichever stops it first: its memory limit, or the watchdog ending the thread.
    expect(bad.ok ? '' : bad.error).toMatch(/^(ran out of memory|took longer than 50 ms \(stopped after 1000 ms\))/);
    expect(good.map((g) => (g.ok ? JSON.parse(g.output).body : g.error))).toEqual(['0', '1', '2', '3', '4']);
  });

  it('runs a fan-out of small transforms in one round trip each way', async () => {
    const source = 'function transform(w) { w.payload = { id: w.payload.id }; return w; }';
    const results = await Promise.all(Array.from({ length: 500 }, () => run(source)));
    expect(results.every((r) => r.ok && JSON.parse(r.output).body === '{"id":"evt_1"}')).toBe(true);
  });

  it('checks a source on save: compiles, defines transform', async () => {
    expect(await sandbox.check('function transform(w) { return w; }')).toBeNull();
    expect(await sandbox.check('function (')).toMatch(/^SyntaxError/);
    expect(await sandbox.check('const x = 1;')).toMatch(/must define function transform/);
  });
});
