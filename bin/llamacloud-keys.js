#!/usr/bin/env node
// Thin dispatcher: loads only the module of the command asked for, so `--help` and `emulator`
// never pay for Pulumi or the AWS SDK.

const path = require("node:path");
const fs = require("node:fs");

// Node's on-disk cache of compiled code (as tsc and vite do): a run after the first reuses what
// earlier runs compiled of zod, the AWS SDK and undici instead of compiling it again (bench/README
// gives `status`'s CPU time with and without it). Node keeps it in its own directory (os.tmpdir()
// unless NODE_COMPILE_CACHE says otherwise), checks each entry against the file's content, and runs
// without it when the directory cannot be written; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
require("node:module").enableCompileCache?.();

const usage = `Usage: llamacloud-keys <command> [flags]

Commands:
  emulator   run a local LlamaCloud (key-management API) for tests and demos
  rotate     rotate the keys that are due, once, and exit
  rotator    run the rotation daemon on a schedule
  status     show managed secrets and their rotation state

Run "llamacloud-keys <command> --help" for a command's flags.
`;

function load(relative) {
  const file = path.join(__dirname, "..", "dist", relative);
  return fs.existsSync(file) ? require(file) : undefined;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage);
    return command === undefined ? 2 : 0;
  }
  if (command === "emulator") {
    const cli = load("llamacloud/emulator/cli.js");
    if (cli === undefined) return notBuilt(command);
    return cli.runEmulatorCommand(rest);
  }
  const rotator = load("rotator/cli.js");
  if (rotator === undefined || typeof rotator.main !== "function") return notBuilt(command);
  return rotator.main(argv);
}

function notBuilt(command) {
  process.stderr.write(`llamacloud-keys: the ${command} command is not built yet (run "npm run build")\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(typeof code === "number" ? code : 0);
  },
  (error) => {
    process.stderr.write(`llamacloud-keys: ${error?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
