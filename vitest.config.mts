import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/harness/global-setup.ts"],
    // Records every worker's child processes, console output and /metrics bodies for the leak scan.
    setupFiles: ["test/harness/record-setup.ts"],
    // Child processes, not threads: suites spawn servers and CLIs and must be killable as a whole.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
