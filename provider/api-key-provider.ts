import type { dynamic } from "@pulumi/pulumi";
import type * as Operations from "./operations";

/**
 * The one provider object behind every `ApiKey`. The engine serializes it into state (`__provider`)
 * and runs `create`, `read` and `delete` from that text, possibly years and package versions later.
 * So it captures nothing but two strings and does all its work through `./operations`, required
 * inside each method (SST's dynamic providers capture one string for the same reason):
 * - the package, found by name from the program directory, so state written on one machine works
 *   on another (CI) and picks up the installed version;
 * - else the absolute path of the compiled module that wrote the state (this repository's own
 *   root program, where the package is not in `node_modules`).
 */

// Plain data, computed at load: the serializer copies the string, not the module system.
const operationsPath: string = require.resolve("./operations");
const operationsInPackage = "dist/provider/operations.js";

function loadOperations(): typeof Operations {
  const path = require("node:path") as typeof import("node:path");
  const fs = require("node:fs") as typeof import("node:fs");
  let file = operationsPath;
  try {
    const root = path.dirname(require.resolve("llamacloud-keys/package.json"));
    const candidate = path.join(root, operationsInPackage);
    if (fs.existsSync(candidate)) file = candidate;
  } catch {
    // Not installed by name here: use the module that wrote the state.
  }
  return require(file) as typeof Operations;
}

/** The `ApiKey` provider. Methods are documented in `operations.ts`. */
export const apiKeyProvider: dynamic.ResourceProvider = {
  async configure(req) {
    loadOperations().configure(req.config);
  },
  async check(olds, news) {
    return loadOperations().check(olds, news);
  },
  async diff(id, olds, news) {
    return loadOperations().diff(id, olds, news);
  },
  async create(inputs) {
    return loadOperations().create(inputs);
  },
  async read(id, props) {
    return loadOperations().read(id, props ?? {});
  },
  async update(id, olds, news) {
    return loadOperations().update(id, olds, news);
  },
  async delete(id, props) {
    await loadOperations().destroy(id, props);
  },
};
