// The Node side of the test harness, shared by every Node test and bench of this repository:
// tests/interop (the protocol from the docs alone), web/test (the reference web client in
// Chromium) and bench/compress_join.mjs. Only Node's own modules, so it loads before any npm
// package is checked or installed.
//
// - the checks (CheckFailed, check, eq);
// - ServerProcess: tutti-server on 127.0.0.1 (the caller's argv should ask for --port 0, or a
//   port to reuse), its last output lines kept for a failure report, stopped by PID;
// - runTest: one test process under a whole-test deadline, PASS or FAIL and its exit code.
// Owned by one Node process; the state here is that process's.

import { spawn } from 'node:child_process';

const STARTUP_TIMEOUT_MS = 30000;         // the server prints its listening line
const KEPT_OUTPUT_LINES = 60;             // of the server's stdout/stderr, for a failure

// --- checks ------------------------------------------------------------------------------

export class CheckFailed extends Error {}
export function check(cond, what) {
  if (!cond) throw new CheckFailed(what);
}
export function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new CheckFailed(`${what}: expected ${JSON.stringify(expected)}, ` +
                          `got ${JSON.stringify(actual)}`);
  }
}

// --- the server process --------------------------------------------------------------------

function readLines(stream, onLine) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buf += chunk;
    for (let nl; (nl = buf.indexOf('\n')) >= 0; buf = buf.slice(nl + 1)) onLine(buf.slice(0, nl));
  });
}

// One tutti-server: `binary` run with `argv` (which should ask for --port 0) by start(),
// stopped by stop() (SIGTERM, SIGKILL after 5 s) or kill() (SIGKILL, synchronous, for a
// process 'exit' handler). Both are no-ops once it has exited.
export class ServerProcess {
  constructor(binary, argv) {
    this.binary = binary;
    this.argv = argv;
    this.child = null;
    this.exited = false;
    this.output = [];  // its last lines, "[out] ..." / "[err] ..."
  }

  get pid() { return this.child?.pid; }
  get running() { return this.child !== null && !this.exited && this.child.pid !== undefined; }

  // Resolves { port, shards } from its listening line; rejects with CheckFailed if it
  // does not print one in time or exits first.
  start() {
    return new Promise((resolveListening, reject) => {
      const child = spawn(this.binary, this.argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      let found = false;
      const timer = setTimeout(() => {
        reject(new CheckFailed(`server did not print its listening line within ` +
                               `${STARTUP_TIMEOUT_MS} ms`));
      }, STARTUP_TIMEOUT_MS);
      readLines(child.stdout, (line) => {
        this.#remember('out', line);
        const m = /^tutti: listening on ws:\/\/127\.0\.0\.1:(\d+) with (\d+) shards/.exec(line);
        if (m && !found) {
          found = true;
          clearTimeout(timer);
          resolveListening({ port: Number(m[1]), shards: Number(m[2]) });
        }
      });
      readLines(child.stderr, (line) => this.#remember('err', line));
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new CheckFailed(`spawn: ${e.message}`));
      });
      child.on('exit', (code, signal) => {
        this.exited = true;
        if (!found) {
          clearTimeout(timer);
          reject(new CheckFailed(`server exited before listening (code ${code}, ` +
                                 `signal ${signal})`));
        }
      });
    });
  }

  async stop() {
    if (!this.running) return;
    const child = this.child;
    const exited = new Promise((r) => child.once('exit', r));
    try { process.kill(child.pid, 'SIGTERM'); } catch { return; }
    const timer = setTimeout(() => {
      if (!this.exited) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }

  kill() {
    if (this.running) { try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* gone */ } }
  }

  #remember(stream, line) {
    this.output.push(`[${stream}] ${line}`);
    if (this.output.length > KEPT_OUTPUT_LINES) this.output.shift();
  }
}

// --- one test process ----------------------------------------------------------------------

// Runs the test `name`: `makeEnv()` (an object with cleanup() and, once a server ran, `server`,
// a ServerProcess), then `body(env)`, all under `overallMs`. Exits 0 after "<name>: PASS", or 1
// after "<name>: FAIL: <the failed check>" and the server's last lines, having cleaned up.
export async function runTest(name, overallMs, makeEnv, body) {
  let env = null;
  const timer = setTimeout(() => {
    console.error(`${name}: FAIL: the whole test took over ${overallMs} ms`);
    (env ? env.cleanup() : Promise.resolve()).finally(() => process.exit(1));
  }, overallMs);
  try {
    env = await makeEnv();
    await body(env);
    clearTimeout(timer);
    await env.cleanup();
    console.log(`${name}: PASS`);
    process.exit(0);
  } catch (e) {
    clearTimeout(timer);
    console.error(`${name}: FAIL: ${e instanceof CheckFailed ? e.message : e.stack}`);
    const output = (env?.server?.output ?? []).slice(-30);
    console.error(`server output (last lines):\n${output.join('\n')}`);
    if (env) await env.cleanup();
    process.exit(1);
  }
}
