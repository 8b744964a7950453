import { defineConfig } from "vite";

// Tauri loads the built files from `dist/` (see `src-tauri/tauri.conf.json`).
// Everything is emitted as files: no inline scripts or styles, so the strict CSP holds.
export default defineConfig({
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The oldest webviews Tauri v2 supports: WebKitGTK 4.1 (Safari 13-class), WebView2 (Chromium).
    target: ["es2021", "safari13", "chrome105"],
    // Never inline assets as data: URLs into scripts; keep them as separate files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
