import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const outDir = here('../dist/ui');

/**
 * Writes a .gz and a .br beside every text file of the build, which the server sends to
 * browsers that accept them (@fastify/static preCompressed): no compression work per request.
 */
function precompress(): Plugin {
  return {
    name: 'herald-precompress',
    apply: 'build',
    closeBundle() {
      const walk = (dir: string): string[] =>
        readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|map)$/.test(file)) continue;
        const bytes = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(bytes));
      }
    },
  };
}

/** `npm run dev:ui`: the portal's paths get the same page, as the Herald server does. */
function portalInDev(): Plugin {
  return {
    name: 'herald-portal-dev',
    apply: 'serve',
    configureServer(server) {
      server.middlewares.use((req, _res, next) => {
        if (req.url && /^\/portal(\/|$|\?)/.test(req.url) && !req.url.includes('/assets/')) req.url = '/ui/';
        next();
      });
    },
  };
}

export default defineConfig({
  root: here('.'),
  // Absolute: deep links (/ui/apps/x/endpoints/y) load the same assets. The portal's page
  // is the same index.html, served at /portal/; its assets come from /ui/assets/ too.
  base: '/ui/',
  plugins: [preact(), precompress(), portalInDev()],
  resolve: {
    alias: {
      // The typed client from source: the UI calls Herald only through it.
      'herald-webhooks/client': here('../src/sdk/client/index.ts'),
    },
  },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    // No data: URIs for assets, and no inline module-preload polyfill: the CSP allows neither script nor style inline.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    port: 5173,
    proxy: { '/v1': process.env.HERALD_DEV_API ?? 'http://127.0.0.1:8099' },
  },
});
