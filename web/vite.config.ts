import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The UI is served by radraft at "/" with the API at /api/v1 on the same
// origin. `npm run dev` proxies the API to a running radraft
// (RADRAFT_DEV_API, default http://127.0.0.1:8080).
export default defineConfig({
  base: '/',
  resolve: {
    // Node built-ins that Cornerstone's dependencies name: xmlbuilder2 extends
    // EventEmitter at load and @oozcitak/url uses two IDNA helpers of "url";
    // the WASM codecs require fs/path only in their Node branch. Explicit
    // browser stand-ins (src/shims/) instead of Vite's externalize warnings.
    alias: {
      events: fileURLToPath(new URL('./src/shims/events.ts', import.meta.url)),
      fs: fileURLToPath(new URL('./src/shims/node-only.ts', import.meta.url)),
      path: fileURLToPath(new URL('./src/shims/node-only.ts', import.meta.url)),
      url: fileURLToPath(new URL('./src/shims/url.ts', import.meta.url)),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true, // public/.gitkeep-README is copied back in
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
  },
  worker: {
    // Cornerstone's dicom-image-loader starts its decoder as a module worker.
    format: 'es',
  },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
  server: {
    proxy: {
      '/api': process.env.RADRAFT_DEV_API ?? 'http://127.0.0.1:8080',
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
