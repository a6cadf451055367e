import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * End-to-end tests run the built CLI in child processes (kill -9 needs a real process), and
 * the browser tests the built UI, so both are built once before the suite: tsc's incremental
 * build takes ~1 s when nothing changed; the UI is rebuilt only when older than its sources
 * (ui/, the typed client and the src/core helpers it bundles).
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  const index = join(root, 'dist/ui/index.html');
  const sources = Math.max(...['ui', 'src/sdk/client', 'src/core'].map((d) => newest(join(root, d))));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], {
    cwd: root, stdio: 'inherit',
    // vitest sets NODE_ENV=test, which would make this a development build: test what ships.
    env: { ...process.env, NODE_ENV: 'production' },
  });
}

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}
