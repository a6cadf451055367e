import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { WORKER_SOURCE } from './worker-source.js';

/**
 * Limits of one transform run (see worker-source.ts for how each is enforced). 50 ms is ~1,500
 * times what a field-picking transform takes; 16 MiB holds a payload at the default 1 MiB
 * limit many times over; the output may be as large as a payload may.
 */
export interface SandboxLimits {
  cpuMs: number;
  memoryBytes: number;
  stackBytes: number;
  outputBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { cpuMs: 50, memoryBytes: 16 << 20, stackBytes: 512 << 10, outputBytes: 1 << 20 };

export type RunResult = { ok: true; output: string } | { ok: false; error: string };

interface Job {
  id: number;
  source: string;
  input?: string;
  check?: boolean;
}

/**
 * Runs endpoint transforms off the event loop, in a thread of their own: a transform that
 * spins until its deadline holds up other transforms for at most that long, never the
 * delivery worker or the API. Runs requested within one turn of the event loop travel as one
 * message (a fan-out to 50 transformed endpoints is one round trip, not 50).
 *
 * A run that overstays by far (`hangMs`: a native call that never looks at the deadline, see
 * worker-source.ts) is stopped by ending the thread: that run fails, the other runs it had
 * go to a new thread. Should the thread die by itself, the run under way fails the same way.
 */
export class Sandbox {
  private worker: Worker | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { job: Job; done: (r: RunResult) => void; tries: number }>();
  /** sent to the thread, not answered yet, in the order sent */
  private readonly sent = new Set<number>();
  private queue: Job[] = [];
  private flushing = false;
  private monitor: NodeJS.Timeout | null = null;
  private readonly shared = new SharedArrayBuffer(16);
  private readonly current = new Int32Array(this.shared, 0, 1);
  private readonly startedAt = new Float64Array(this.shared, 8, 1);
  /** how long a run may take before the thread is ended to stop it */
  readonly hangMs: number;

  constructor(readonly limits: SandboxLimits = DEFAULT_LIMITS) {
    this.hangMs = Math.max(20 * limits.cpuMs, 1000);
  }

  /** Runs `transform(JSON.parse(input))`; the output is the JSON the sandbox wrote (`null` for a skip). */
  run(source: string, input: string): Promise<RunResult> {
    return this.enqueue({ id: this.nextId++, source, input });
  }

  /** Null if the source compiles and defines `transform`; else what is wrong. */
  async check(source: string): Promise<string | null> {
    const r = await this.enqueue({ id: this.nextId++, source, check: true });
    return r.ok ? null : r.error;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.stopThread();
    for (const p of this.pending.values()) p.done({ ok: false, error: 'the sandbox was closed' });
    this.pending.clear();
    this.sent.clear();
    this.queue = [];
    if (w) await w.terminate();
  }

  private enqueue(job: Job): Promise<RunResult> {
    return new Promise((done) => {
      this.pending.set(job.id, { job, done, tries: 0 });
      this.queue.push(job);
      if (this.queue.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    try {
      const worker = this.start();
      await this.ready;
      if (this.worker !== worker) return; // ended while starting: the jobs were handed on
      const jobs = this.queue;
      this.queue = [];
      for (const j of jobs) this.sent.add(j.id);
      this.watch();
      worker.postMessage(jobs);
    } finally {
      this.flushing = false;
    }
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const quickjs = createRequire(import.meta.url).resolve('quickjs-emscripten');
    Atomics.store(this.current, 0, 0);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { quickjs, limits: this.limits, shared: this.shared },
      // The engine's own heap lives in WebAssembly memory; this bounds the thread's JS heap.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    worker.unref(); // never what keeps the process alive
    this.worker = worker;
    this.ready = new Promise((resolve) => {
      worker.on('message', (msg: unknown) => {
        if (msg === 'ready') return resolve();
        for (const r of msg as Array<{ id: number } & RunResult>) {
          this.sent.delete(r.id);
          const p = this.pending.get(r.id);
          this.pending.delete(r.id);
          p?.done(r.ok ? { ok: true, output: r.output } : { ok: false, error: r.error });
        }
        if (this.sent.size === 0) this.unwatch();
        if (this.queue.length > 0) void this.flush();
      });
      worker.on('error', (err) => this.lost(worker, `the transform crashed the sandbox (${err.message})`));
      worker.on('exit', (code) => this.lost(worker, `the transform crashed the sandbox (exit code ${code})`));
    });
    return worker;
  }

  /** While runs are out, checks every quarter second that the one under way isn't overstaying. */
  private watch(): void {
    if (this.monitor) return;
    this.monitor = setInterval(() => {
      const id = Atomics.load(this.current, 0);
      if (id !== 0 && Date.now() - this.startedAt[0] > this.hangMs && this.worker) {
        this.lost(this.worker, `took longer than ${this.limits.cpuMs} ms (stopped after ${this.hangMs} ms)`);
      }
    }, 250);
    this.monitor.unref();
  }

  private unwatch(): void {
    if (this.monitor) clearInterval(this.monitor);
    this.monitor = null;
  }

  /**
   * The thread is gone or being ended: the run under way fails with `why`; the others it had
   * go to a new thread.
   */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    const culprit = Atomics.load(this.current, 0);
    this.stopThread();
    const again: Job[] = [];
    for (const id of this.sent) {
      const p = this.pending.get(id);
      if (!p) continue;
      // The run under way is the culprit; when none was (the thread died between runs), each
      // run it had counts the loss against itself, so one that kills threads can't loop forever.
      if (id === culprit || (culprit === 0 && ++p.tries > 2)) {
        this.pending.delete(id);
        p.done({ ok: false, error: id === culprit ? why : 'the sandbox was restarted' });
      } else again.push(p.job);
    }
    this.sent.clear();
    this.queue = [...again, ...this.queue];
    if (this.queue.length > 0) setImmediate(() => void this.flush());
  }

  private stopThread(): void {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.unwatch();
    if (w) void w.terminate().catch(() => undefined);
  }
}

let shared: Sandbox | null = null;

/** The process's sandbox, started on first use. */
export function sharedSandbox(): Sandbox {
  shared ??= new Sandbox();
  return shared;
}
