/** The dashboard ships this package compiled (src/runstream/api/dashboard/static/lib): it
 * must be what `npm run build:dashboard` makes of the sources now. */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const PACKAGE = resolve(fileURLToPath(import.meta.url), "../../../../..");
const SHIPPED = resolve(PACKAGE, "../../src/runstream/api/dashboard/static/lib");

test("the dashboard's compiled client is up to date (run `npm run build:dashboard`)", () => {
  const out = mkdtempSync(join(tmpdir(), "runstream-lib-"));
  try {
    const tsc = spawnSync(join(PACKAGE, "node_modules/.bin/tsc"), ["-p", "tsconfig.dashboard.json", "--outDir", out], {
      cwd: PACKAGE,
      encoding: "utf8",
    });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    const built = readdirSync(out).sort();
    assert.deepEqual(readdirSync(SHIPPED).sort(), built);
    for (const name of built) {
      assert.equal(readFileSync(join(SHIPPED, name), "utf8"), readFileSync(join(out, name), "utf8"), `${name} is stale`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
