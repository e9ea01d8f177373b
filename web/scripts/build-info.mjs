// Records which sources the committed build was made from (pitwall/webui/static/build-info.json);
// tests/unit/test_webui_build.py recomputes the same hash and fails when the build is stale.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(fileURLToPath(import.meta.url), "..", "..");
const INPUTS = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "public", "src"];

function files(path) {
  if (statSync(path).isDirectory()) return readdirSync(path).sort().flatMap((n) => files(join(path, n)));
  return path.endsWith(".test.ts") ? [] : [path];
}

const hash = createHash("sha256");
for (const file of INPUTS.flatMap((p) => files(join(web, p)))) {
  const name = relative(web, file).split(sep).join("/");
  hash.update(name + "\0");
  hash.update(readFileSync(file, "utf8").replace(/\r\n/g, "\n") + "\0");
}
const out = join(web, "..", "pitwall", "webui", "static", "build-info.json");
writeFileSync(out, JSON.stringify({ sources_sha256: hash.digest("hex") }, null, 1) + "\n");
console.log(`wrote ${relative(process.cwd(), out)}`);
