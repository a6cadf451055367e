/**
 * The sandbox thread (sandbox.ts starts it with `eval: true`, as plain CommonJS, so it runs the
 * same from src/ under vitest and from dist/). Transforms run in QuickJS compiled to
 * WebAssembly (quickjs-emscripten): a separate JS engine with its own heap, no `require`, no
 * file, network or process access, nothing of Node's; only what this file hands it (a JSON
 * string in, a JSON string out).
 *
 * Each transform source gets a runtime of its own, kept between runs (compiling costs ~0.6 ms,
 * a run of a small transform ~0.03 ms) and thrown away after any failure, so a run that was
 * interrupted or ran out of memory never leaves a damaged engine behind. Limits per run:
 * - time: QuickJS calls the interrupt handler every few thousand instructions; past the
 *   deadline the run throws "interrupted". Loading a source (compiling it, running its top
 *   level) may take 4 × as long: it happens once per source and thread, and the first one after
 *   a start pays for the engine warming up (the thread warms it before it takes work: in a
 *   probe the first load on a busy machine took ~60 ms, later ones under 1 ms). The clock is the thread's wall clock (Node has no
 *   per-thread CPU clock before v23); the thread does nothing else, so the two differ only
 *   when the OS gives the core to someone else.
 * - memory: the runtime's allocator refuses past `memoryBytes` ("out of memory").
 * - stack: `stackBytes` turns deep recursion into a RangeError instead of overflowing the
 *   host's stack (without it, `function f(){f()} f()` crashed the process in a probe).
 * - output: the JSON is measured inside the sandbox, before it is copied out.
 * - the backstop: a single native call (`new Array(1e5).fill(…)` in a loop, near the memory
 *   limit) doesn't look at the interrupt handler and ran for 2 to 3 s in a probe. The thread
 *   writes the id and start time of the run under way into shared memory; sandbox.ts stops
 *   the thread when a run overstays by far, fails that run and hands the others to a new one.
 * `Math.random` is a fixed-seed generator: a transform can't make retries differ by chance
 * (they resend the stored output anyway).
 */
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const { getQuickJS } = require(workerData.quickjs);
const L = workerData.limits;
const current = new Int32Array(workerData.shared, 0, 1);
const startedAt = new Float64Array(workerData.shared, 8, 1);
// Each kept runtime may hold up to memoryBytes: 32 × 16 MiB bounds the thread's WebAssembly memory.
const CACHE_MAX = 32;
const PRELUDE = "(function(){var s=0x2545F491;Math.random=function(){s^=s<<13;s^=s>>>17;s^=s<<5;return (s>>>0)/4294967296;};" +
  "var noop=function(){};globalThis.console={log:noop,info:noop,warn:noop,error:noop,debug:noop};})();";
const SUFFIX = "globalThis.__herald_run=(function(){" +
  "if(typeof transform!=='function')throw new TypeError('the source must define function transform(webhook)');" +
  "var run=transform,stringify=JSON.stringify,parse=JSON.parse;" +
  "return function(input,max){var out=run(parse(input));" +
  "if(out===null)return 'null';" +
  "if(out===undefined||typeof out!=='object'||Array.isArray(out))throw new TypeError('transform must return the webhook object (changed or not), or null to skip the delivery');" +
  "var body=out.payload===undefined?undefined:stringify(out.payload);" +
  "var json=stringify({url:out.url,headers:out.headers,body:body});" +
  "if(json.length>max)throw new RangeError('the output is larger than the '+max+'-byte limit');" +
  "return json;};})();";

let qjs = null;
const cache = new Map();
const LOAD_MS = 4 * L.cpuMs;
/** what the running code's deadline allows, for the message when it is passed */
let budget = 'took longer than ' + L.cpuMs + ' ms';

function drop(entry) {
  try { entry.fn && entry.fn.dispose(); } catch {}
  try { entry.ctx.dispose(); } catch {}
  try { entry.rt.dispose(); } catch {}
}

function message(ctx, handle) {
  let e;
  try { e = ctx.dump(handle); } catch { e = 'error'; } finally { try { handle.dispose(); } catch {} }
  if (e && typeof e === 'object') {
    const name = e.name || 'Error';
    const msg = String(e.message ?? '');
    if (name === 'InternalError' && msg === 'interrupted') return budget;
    if (name === 'InternalError' && msg === 'out of memory') return 'ran out of memory (' + Math.round(L.memoryBytes / 1048576) + ' MiB limit)';
    if (msg.includes('stack overflow')) return 'stack overflow (recursion too deep)';
    const where = typeof e.stack === 'string' ? (e.stack.match(/transform\.js:(\d+)(?::(\d+))?/) || null) : null;
    return name + ': ' + msg + (where ? ' (line ' + where[1] + ')' : '');
  }
  return String(e);
}

function evalOrThrow(entry, code, file) {
  const r = entry.ctx.evalCode(code, file);
  if (r.error) throw new Error(message(entry.ctx, r.error));
  r.value.dispose();
}

function compile(source) {
  let entry = cache.get(source);
  if (entry) {
    cache.delete(source); // most recently used last
    cache.set(source, entry);
    return entry;
  }
  const rt = qjs.newRuntime();
  rt.setMemoryLimit(L.memoryBytes);
  rt.setMaxStackSize(L.stackBytes);
  entry = { rt, ctx: null, fn: null, deadline: Date.now() + LOAD_MS };
  budget = 'took longer than ' + LOAD_MS + ' ms to load (compile and run its top level)';
  rt.setInterruptHandler(() => Date.now() > entry.deadline);
  entry.ctx = rt.newContext();
  try {
    evalOrThrow(entry, PRELUDE, 'prelude.js');
    evalOrThrow(entry, source, 'transform.js');
    evalOrThrow(entry, SUFFIX, 'suffix.js');
    entry.fn = entry.ctx.getProp(entry.ctx.global, '__herald_run');
  } catch (err) {
    drop(entry);
    throw err;
  }
  if (cache.size >= CACHE_MAX) {
    const [oldest, old] = cache.entries().next().value;
    cache.delete(oldest);
    drop(old);
  }
  cache.set(source, entry);
  return entry;
}

function runOne(job) {
  startedAt[0] = Date.now();
  Atomics.store(current, 0, job.id);
  try {
    return runJob(job);
  } finally {
    Atomics.store(current, 0, 0);
  }
}

function runJob(job) {
  let entry;
  try {
    entry = compile(job.source);
  } catch (err) {
    return { id: job.id, ok: false, error: err.message };
  }
  if (job.check) return { id: job.id, ok: true, output: null };
  const { ctx } = entry;
  entry.deadline = Date.now() + L.cpuMs;
  budget = 'took longer than ' + L.cpuMs + ' ms';
  const input = ctx.newString(job.input);
  const max = ctx.newNumber(L.outputBytes);
  let result;
  try {
    const r = ctx.callFunction(entry.fn, ctx.undefined, input, max);
    if (r.error) result = { id: job.id, ok: false, error: message(ctx, r.error) };
    else {
      const output = ctx.getString(r.value);
      r.value.dispose();
      result = Buffer.byteLength(output) > L.outputBytes
        ? { id: job.id, ok: false, error: 'the output is larger than the ' + L.outputBytes + '-byte limit' }
        : { id: job.id, ok: true, output };
    }
  } catch (err) {
    result = { id: job.id, ok: false, error: 'the sandbox failed: ' + (err && err.message) };
  } finally {
    try { input.dispose(); max.dispose(); } catch {}
  }
  if (!result.ok) {
    cache.delete(job.source);
    drop(entry);
  }
  return result;
}

/** Runs a small transform a few times, so that the first real one doesn't pay for the engine's warm-up. */
function warmUp() {
  const input = JSON.stringify({ type: 'a.b', url: 'https://example.com/', headers: {}, payload: { id: 'evt', data: { name: 'x', n: 1 } } });
  for (let i = 0; i < 20; i++) {
    const job = { id: -1, source: 'function transform(w) { w.payload = { id: w.payload.id, n: w.payload.data.n + ' + i + ' }; return w; }', input };
    runJob(job);
    runJob(job);
  }
  for (const entry of cache.values()) drop(entry);
  cache.clear();
}

getQuickJS().then((m) => {
  qjs = m;
  warmUp();
  parentPort.on('message', (jobs) => parentPort.postMessage(jobs.map(runOne)));
  parentPort.postMessage('ready');
});
`;
