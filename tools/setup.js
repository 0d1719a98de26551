#!/usr/bin/env node
// `npm run setup`: installs everything the tests and the demo need, from the project's own files.
// Idempotent: a second run finds each part in place and takes seconds. Node built-ins only, because
// it runs before `npm ci` has installed anything.

const { execFileSync, spawnSync } = require("node:child_process");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const pulumiVersion = "v3.276.0";
// The AWS Lambda Runtime Interface Emulator's Go module version (tools/lambda-rie/go.mod pins it).
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d";
const motoRequirements = path.join(root, "tools", "moto", "requirements.txt");
const venv = path.join(root, ".venv");
const toolsFile = path.join(root, ".tools.json");

const usage = `Usage: npm run setup [-- --skip-npm]

Installs, in order:
  1. npm packages (npm ci, from package-lock.json)
  2. moto's server (${fs.readFileSync(motoRequirements, "utf8").trim()}) into ${venv}
  3. the Pulumi CLI ${pulumiVersion} and its Node language host: \`pulumi\` from PATH when its version
     fits, otherwise built from Go modules (tools/pulumi-cli/) into a cache outside the repo
  4. the AWS Lambda Runtime Interface Emulator (tools/lambda-rie/, Go module ${rieVersion}),
     built into the same cache, and a check that aws-lambda-ric's native addon was built
     (package.json allowScripts approves its install scripts), for the native-rotation engine
  5. the TypeScript build (dist/) and the rotation function's zip
     (dist/lambda/llamacloud-keys-rotator.zip, the package's default for ProjectKeys' native mode)
and records where the tools are in .tools.json for the tests.

Environment:
  LLAMACLOUD_KEYS_CACHE   cache directory for the Pulumi and emulator builds (default: $XDG_CACHE_HOME or ~/.cache, + /llamacloud-keys)
`;

class SetupError extends Error {}

function main(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage);
    return 0;
  }
  const unsupported = unsupportedNode(process.versions.node);
  if (unsupported) {
    process.stderr.write(`setup failed: ${unsupported}\n`);
    return 1;
  }
  const started = Date.now();
  try {
    if (!argv.includes("--skip-npm")) step("npm packages", installNpmPackages);
    const moto = step("moto's server", installMoto);
    const pulumi = step(`Pulumi CLI ${pulumiVersion}`, installPulumi);
    const lambda = step("Lambda runtime emulator and runtime client", installLambdaRuntime);
    step("TypeScript build and the rotation function's zip", () => {
      run("npx", ["tsc", "-p", "tsconfig.json"], { cwd: root });
      run(process.execPath, [path.join(root, "tools", "package-lambda.js")], { cwd: root });
    });
    fs.writeFileSync(
      toolsFile,
      `${JSON.stringify(
        {
          pulumiBinDir: pulumi.binDir,
          pulumiVersion,
          motoServer: moto.server,
          motoVersion: moto.version,
          lambdaRie: lambda.rie,
          lambdaRic: lambda.ric,
        },
        null,
        2,
      )}\n`,
    );
    log(
      `setup: done in ${seconds(Date.now() - started)}; tools recorded in ${path.relative(root, toolsFile)}`,
    );
    log(`setup: Pulumi CLI in ${pulumi.binDir} (${pulumi.source}); moto ${moto.version}`);
    return 0;
  } catch (error) {
    const message = error instanceof SetupError ? error.message : error?.stack || String(error);
    process.stderr.write(`\nsetup failed: ${message}\n`);
    return 1;
  }
}

/**
 * Node 22 (from 22.19, undici 8's floor) and Node 24 LTS, as package.json's `engines` says. Checked
 * before anything is installed, because npm only warns about `engines` and the failures it lets
 * through come much later and name something else.
 */
function unsupportedNode(version) {
  const [major, minor] = version.split(".").map(Number);
  if (major === 22 && minor >= 19) return undefined;
  if (major >= 24) return undefined;
  return (
    `Node ${version} is not supported: llamacloud-keys needs Node 22 (22.19 or later) or Node 24 LTS.\n` +
    "  Install one (https://nodejs.org/en/download, or `nvm install 24`), put it first on PATH, and rerun `npm run setup`."
  );
}

function step(name, fn) {
  const started = Date.now();
  log(`setup: ${name}...`);
  const result = fn();
  log(`setup: ${name}: ok (${seconds(Date.now() - started)})`);
  return result;
}

function installNpmPackages() {
  run("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root });
}

function installMoto() {
  const server = path.join(venv, "bin", "moto_server");
  const python = path.join(venv, "bin", "python");
  // The stamp holds the requirements' hash: a changed pin reinstalls, an unchanged one is a no-op.
  const stamp = path.join(venv, ".requirements.sha256");
  const wanted = sha256(fs.readFileSync(motoRequirements));
  const installed =
    fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === wanted && fs.existsSync(server);
  if (!installed) {
    const python3 = findOnPath("python3");
    if (!python3)
      throw new SetupError(
        "python3 is not on PATH: install Python 3.9 or later (apt-get install python3 python3-venv)",
      );
    if (!fs.existsSync(python)) run(python3, ["-m", "venv", venv]);
    run(path.join(venv, "bin", "pip"), [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      "-r",
      motoRequirements,
    ]);
    fs.writeFileSync(stamp, wanted);
  } else {
    log("setup:   already installed (requirements unchanged)");
  }
  const version = execFileSync(python, ["-c", "import moto; print(moto.__version__)"], {
    encoding: "utf8",
  }).trim();
  return { server, version };
}

function installPulumi() {
  const shim = path.join(root, "node_modules", "@pulumi", "pulumi", "pulumi-resource-pulumi-nodejs");
  if (!fs.existsSync(shim))
    throw new SetupError(`${shim} is missing: run \`npm ci\` (setup without --skip-npm)`);

  const onPath = findOnPath("pulumi");
  if (onPath && findOnPath("pulumi-language-nodejs")) {
    const version = spawnSync(onPath, ["version"], { encoding: "utf8" }).stdout.trim();
    if (version === pulumiVersion) {
      return { binDir: withShim(path.dirname(onPath), shim), source: "from PATH" };
    }
    log(`setup:   pulumi on PATH is ${version || "unknown"}, not ${pulumiVersion}: using the pinned build`);
  }

  // The key includes the recipe's go.sum files, so a changed recipe builds afresh beside the old one.
  const recipe = path.join(root, "tools", "pulumi-cli");
  const modules = ["cli", "language-nodejs"];
  const recipeHash = sha256(
    modules.map((m) => fs.readFileSync(path.join(recipe, m, "go.sum"))).join("\n"),
  ).slice(0, 12);
  const binDir = path.join(cacheRoot(), "pulumi", `${pulumiVersion}-${recipeHash}`, "bin");
  const cli = path.join(binDir, "pulumi");
  const host = path.join(binDir, "pulumi-language-nodejs");
  if (fs.existsSync(cli) && fs.existsSync(host)) {
    log(`setup:   cached build found in ${binDir}`);
    return { binDir: withShim(binDir, shim), source: "cached build" };
  }

  const go = findOnPath("go");
  if (!go) {
    throw new SetupError(
      `the Pulumi CLI ${pulumiVersion} is needed and neither PATH nor Go can supply it.\n` +
        `  Either install Go 1.26+ (https://go.dev/doc/install) and rerun \`npm run setup\`,\n` +
        `  or install the Pulumi CLI ${pulumiVersion} (https://www.pulumi.com/docs/install/) so that \`pulumi\`\n` +
        `  and \`pulumi-language-nodejs\` are on PATH and \`pulumi version\` prints ${pulumiVersion}.`,
    );
  }
  fs.mkdirSync(binDir, { recursive: true });
  const ldflags = `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${pulumiVersion}`;
  const env = { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" };
  log("setup:   building from Go modules (first time: ~1 GB of modules, 5-25 minutes on 2 cores)");
  // Build into temporary names and rename last, so an interrupted build never looks cached.
  run(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      ldflags,
      "-o",
      `${host}.partial`,
      "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs",
    ],
    {
      cwd: path.join(recipe, "language-nodejs"),
      env,
    },
  );
  run(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      ldflags,
      "-o",
      `${cli}.partial`,
      "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ],
    {
      cwd: path.join(recipe, "cli"),
      env,
    },
  );
  fs.renameSync(`${host}.partial`, host);
  fs.renameSync(`${cli}.partial`, cli);
  const built = spawnSync(cli, ["version"], { encoding: "utf8" }).stdout.trim();
  if (built !== pulumiVersion)
    throw new SetupError(`the built pulumi reports ${built || "nothing"}, expected ${pulumiVersion}`);
  return { binDir: withShim(binDir, shim), source: "built from Go modules" };
}

function cacheRoot() {
  return (
    process.env.LLAMACLOUD_KEYS_CACHE ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "llamacloud-keys")
  );
}

/**
 * The local native-rotation engine (tools/moto/native_engine.py) runs the packaged rotation function
 * under the AWS Lambda Runtime Interface Emulator with the official Node runtime interface client.
 * The emulator is a Go module, built once into the cache (keyed by version and recipe, like the
 * Pulumi CLI); the client is the devDependency aws-lambda-ric, whose install scripts build a native
 * addon: npm 11 runs them only because package.json's allowScripts approves them.
 */
function installLambdaRuntime() {
  const ric = path.join(root, "node_modules", "aws-lambda-ric", "index.mjs");
  const addon = path.join(root, "node_modules", "aws-lambda-ric", "rapid-client.node");
  if (!fs.existsSync(ric))
    throw new SetupError(`${ric} is missing: run \`npm ci\` (setup without --skip-npm)`);
  if (!fs.existsSync(addon)) {
    throw new SetupError(
      `aws-lambda-ric's native addon (${addon}) was not built: its install scripts did not run.\n` +
        "  They need cmake, make and g++ (apt-get install cmake g++ make) and npm's approval, which package.json's\n" +
        "  allowScripts gives; then run `npm rebuild aws-lambda-ric` (or `npm run setup` again).",
    );
  }
  const recipe = path.join(root, "tools", "lambda-rie");
  const recipeHash = sha256(fs.readFileSync(path.join(recipe, "go.sum"))).slice(0, 12);
  const binDir = path.join(cacheRoot(), "lambda-rie", `${rieVersion}-${recipeHash}`);
  const rie = path.join(binDir, "aws-lambda-rie");
  if (fs.existsSync(rie)) {
    log(`setup:   cached emulator found in ${binDir}`);
    return { rie, ric };
  }
  const go = findOnPath("go");
  if (!go) {
    throw new SetupError(
      "the AWS Lambda Runtime Interface Emulator is built from its Go module and Go is not on PATH.\n" +
        "  Install Go 1.26+ (https://go.dev/doc/install) and rerun `npm run setup`.",
    );
  }
  fs.mkdirSync(binDir, { recursive: true });
  log("setup:   building aws-lambda-rie from its Go module (first time: under a minute)");
  run(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      "-s -w",
      "-o",
      `${rie}.partial`,
      "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie",
    ],
    { cwd: recipe, env: { ...process.env, GOFLAGS: "-mod=mod", CGO_ENABLED: "0" } },
  );
  fs.renameSync(`${rie}.partial`, rie);
  return { rie, ric };
}

/**
 * The engine launches `pulumi-resource-pulumi-nodejs` for dynamic resources; @pulumi/pulumi ships it.
 * When the CLI came from PATH we must not write into a system directory, so the shim gets a
 * directory of its own beside the cache and tests put both on PATH.
 */
function withShim(binDir, shim) {
  const target = path.join(binDir, "pulumi-resource-pulumi-nodejs");
  try {
    fs.copyFileSync(shim, target);
    fs.chmodSync(target, 0o755);
    return binDir;
  } catch {
    const own = path.join(os.tmpdir(), "llamacloud-keys-pulumi-bin");
    fs.mkdirSync(own, { recursive: true });
    for (const name of ["pulumi", "pulumi-language-nodejs"]) {
      const link = path.join(own, name);
      fs.rmSync(link, { force: true });
      fs.symlinkSync(path.join(binDir, name), link);
    }
    fs.copyFileSync(shim, path.join(own, "pulumi-resource-pulumi-nodejs"));
    fs.chmodSync(path.join(own, "pulumi-resource-pulumi-nodejs"), 0o755);
    return own;
  }
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: "inherit", ...options });
  if (result.error) throw new SetupError(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) {
    throw new SetupError(
      `\`${[path.basename(command), ...args].join(" ")}\` exited with ${result.status ?? result.signal}`,
    );
  }
}

function findOnPath(name) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function sha256(data) {
  return createHash("sha256").update(data).digest("hex");
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function log(line) {
  process.stdout.write(`${line}\n`);
}

process.exitCode = main(process.argv.slice(2));
