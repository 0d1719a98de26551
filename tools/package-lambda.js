#!/usr/bin/env node
// `npm run package:lambda [-- --out FILE]`: the rotation function's deployable zip. esbuild bundles
// rotator/lambda.ts with everything it imports (the AWS SDK included: the function does not rely on
// the SDK version a Lambda runtime happens to ship) into one file, `index.js`, whose handler is
// `index.handler`. The zip is reproducible: one entry with a fixed timestamp, fixed attributes and
// a fixed compression level, so the same sources and lockfile give the same bytes (and so the same
// CodeSha256: Pulumi updates the function only when the code changed).

const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const zlib = require("node:zlib");

const root = path.resolve(__dirname, "..");
const entry = path.join(root, "rotator", "lambda.ts");
const defaultOut = path.join(root, "dist", "lambda", "llamacloud-keys-rotator.zip");

async function main(argv) {
  const outIndex = argv.indexOf("--out");
  const out = outIndex === -1 ? defaultOut : path.resolve(argv[outIndex + 1] ?? "");
  if (outIndex !== -1 && argv[outIndex + 1] === undefined) {
    process.stderr.write("package:lambda: --out needs a file name\n");
    return 2;
  }
  const code = await bundle();
  const zip = zipOne("index.js", code);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.partial`, zip);
  fs.renameSync(`${out}.partial`, out);
  const sha = createHash("sha256").update(zip).digest("base64");
  process.stdout.write(
    `package:lambda: ${path.relative(process.cwd(), out) || out}: ${zip.length} bytes ` +
      `(index.js ${code.length} bytes; handler index.handler; CodeSha256 ${sha})\n`,
  );
  return 0;
}

async function bundle() {
  const esbuild = require("esbuild");
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    write: false,
    minify: true,
    // Error classes keep their names: the runtime reports `errorType` from them.
    keepNames: true,
    legalComments: "none",
    sourcemap: false,
    logLevel: "warning",
    absWorkingDir: root,
    tsconfig: path.join(root, "tsconfig.json"),
  });
  return Buffer.from(result.outputFiles[0].contents);
}

// 1980-01-01 00:00:00, the earliest DOS time: no build clock in the archive.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** A zip with one deflated file, every header field fixed. */
function zipOne(name, data) {
  const fileName = Buffer.from(name, "utf8");
  const compressed = zlib.deflateRawSync(data, { level: 9 });
  const crc = zlib.crc32(data);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4); // version needed
  local.writeUInt16LE(0x0800, 6); // UTF-8 names
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt16LE(DOS_TIME, 10);
  local.writeUInt16LE(DOS_DATE, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(compressed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(fileName.length, 26);
  local.writeUInt16LE(0, 28);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode below applies
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(DOS_TIME, 12);
  central.writeUInt16LE(DOS_DATE, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(compressed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fileName.length, 28);
  central.writeUInt16LE(0, 30); // extra
  central.writeUInt16LE(0, 32); // comment
  central.writeUInt16LE(0, 34); // disk
  central.writeUInt16LE(0, 36); // internal attributes
  central.writeUInt32LE(((0o100644 << 16) >>> 0) >>> 0, 38); // -rw-r--r--
  central.writeUInt32LE(0, 42); // local header offset
  const centralOffset = local.length + fileName.length + compressed.length;
  const centralSize = central.length + fileName.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, fileName, compressed, central, fileName, end]);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`package:lambda failed: ${error?.stack || error}\n`);
    process.exitCode = 1;
  },
);
