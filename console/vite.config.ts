/**
 * The console page: Preact (3 kB runtime, JSX and hooks, no CDN) built by Vite into dist/console, served by the
 * server under /console. Devtools and hot reload stay off: the page is only ever served built, and preact's devtools
 * plugin breaks source maps.
 */
import path from 'node:path';
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: '/console/',
  logLevel: 'warn',
  plugins: [preact({ devToolsEnabled: false, prefreshEnabled: false, reactAliasesEnabled: false })],
  build: {
    outDir: path.resolve(here, '../dist/console'),
    emptyOutDir: true,
    sourcemap: true,
    reportCompressedSize: false,
  },
});
