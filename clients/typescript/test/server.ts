/**
 * A real `runstream serve stories:app` on 127.0.0.1 for the tests (tests/dashboard/stories.py),
 * with its own SQLite file; `RUNSTREAM_BIN` names the command (default: the repo's venv).
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// Compiled to build/clients/typescript/test/: four levels up is the package.
const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
const REPO = resolve(PACKAGE, "../..");
const APPS = join(REPO, "tests/dashboard");

/** A running server. */
export interface Server {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Stop the process, keeping its database and port, to be started again by `restart`. */
  restart(downMs: number): Promise<void>;
}

export function runstreamBin(): string {
  return process.env.RUNSTREAM_BIN ?? join(REPO, ".venv/bin/runstream");
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => ok(port));
    });
  });
}

async function waitListening(url: string, child: ChildProcess, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`runstream serve exited with ${child.exitCode}`);
    try {
      const reply = await fetch(`${url}/api/orgs/default/kinds`);
      if (reply.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("runstream serve did not start listening");
}

/** Start a server; `env` adds RUNSTREAM_* settings (e.g. a short maximum connection time). */
export async function startServer(env: Record<string, string> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "runstream-ts-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const launch = (): ChildProcess => {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("RUNSTREAM_")),
    );
    const child = spawn(runstreamBin(), ["serve", "stories:app", "--port", String(port), "--log-level", "warning"], {
      cwd: APPS,
      env: { ...clean, PYTHONPATH: APPS, RUNSTREAM_STORE: `sqlite:///${join(dir, "runstream.db")}`, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    // The banner and any traceback, shown only if the server fails to start.
    child.stderr?.setEncoding("utf8").on("data", (text: string) => (log += text));
    return child;
  };
  const stopChild = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    await exited;
    clearTimeout(timer);
  };
  let child = launch();
  await waitListening(url, child).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });
  return {
    url,
    port,
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs: number) {
      await stopChild(child);
      await new Promise((r) => setTimeout(r, downMs));
      child = launch();
      await waitListening(url, child);
    },
  };
}

/** Poll `check` until it returns a value that is not undefined. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
