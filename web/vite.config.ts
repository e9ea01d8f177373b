import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The build goes into the Python package, so `pip install pitwall` ships the UI without npm.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../pitwall/webui/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    proxy: { "/api": process.env.PITWALL_API ?? "http://127.0.0.1:8000" },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
