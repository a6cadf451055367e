import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * Copies the WAL back into the database file from a thread of its own. A checkpoint ends
 * with fsyncs (about 1 ms each here, up to 4 ms), and run by the committing connection it
 * stalls the event loop that is answering webhooks: at 1,000 requests/s that was ~3
 * checkpoints a second on the request path, enough to show in the p99.
 *
 * PASSIVE checkpoints never wait for or block the writer. They can't shrink the WAL on
 * their own: SQLite restarts it at the writer's next transaction once everything has been
 * copied, which under continuous writes may not happen for a while. So the writer keeps an
 * autocheckpoint as a backstop (`BACKSTOP_PAGES`); by the time it fires, the frames are
 * mostly copied already, and it has little left to do.
 */
export const BACKSTOP_PAGES = 2000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const step = () => { db.pragma('wal_checkpoint(PASSIVE)'); };
const timer = setInterval(step, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { step(); } finally { db.close(); parentPort.close(); }
});`;

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  /** `onFailure`: the thread died (the caller goes back to checkpointing on its own). */
  constructor(path: string, onFailure: (err: unknown) => void, intervalMs = 20) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { path, driver, intervalMs } });
    // Never what keeps the process alive.
    this.worker.unref();
    let failed = false;
    this.worker.on('error', (err) => {
      failed = true;
      onFailure(err);
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', (code) => {
      if (code !== 0 && !failed) onFailure(new Error(`checkpoint thread exited with code ${code}`));
      resolve();
    }));
  }

  /** A last checkpoint, then the thread closes its connection and ends. */
  async stop(): Promise<void> {
    this.worker.ref(); // until it has closed its connection
    this.worker.postMessage('stop');
    await this.exited;
  }
}
