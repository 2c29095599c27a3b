import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The UI is served by radraft at "/" with the API at /api/v1 on the same
// origin. `npm run dev` proxies the API to a running radraft
// (RADRAFT_DEV_API, default http://127.0.0.1:8080).
export default defineConfig({
  base: '/',
  resolve: {
    // xmlbuilder2 (pulled in by Cornerstone) extends Node's EventEmitter at load
    alias: { events: fileURLToPath(new URL('./src/shims/events.ts', import.meta.url)) },
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
