// Bundle one browser entry module with esbuild (pinned in package.json) into a single IIFE
// script: `node bundle.mjs <entry.js> <out.js>`. Bare imports ("@uppy/core") resolve from this
// directory's node_modules, wherever the entry lives. Exits non-zero with esbuild's message.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error("usage: node bundle.mjs <entry.js> <out.js>");
  process.exit(2);
}
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "chrome110",
  nodePaths: [join(dirname(fileURLToPath(import.meta.url)), "node_modules")],
  logLevel: "error",
});
