// The timing core compiled to WebAssembly must compute exactly what the native build does.
// timing_vectors (C++, native) recorded every call of a long session through the C API of
// midi/timing_c_api.h with its result; this replays the same calls on the wasm module and
// compares each result bit for bit (Object.is: -0 and NaN included).
// Usage: node --test timing_core_test.mjs   with TUTTI_TIMING_WASM=<module.mjs> and
//        TUTTI_TIMING_VECTORS=<vectors.json> in the environment (ctest sets both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const wasmPath = process.env.TUTTI_TIMING_WASM;
const vectorsPath = process.env.TUTTI_TIMING_VECTORS;

// C functions returning uint32_t come back from wasm as signed i32; read them unsigned.
const header = readFileSync(join(HERE, '../../midi/timing_c_api.h'), 'utf8');
const unsignedResults = new Set([...header.matchAll(/^uint32_t (tutti_\w+)\(/gm)].map((m) => m[1]));

async function loadCore() {
  assert.ok(wasmPath, 'TUTTI_TIMING_WASM is not set (run through ctest)');
  const { default: createTimingCore } = await import(pathToFileURL(resolve(wasmPath)).href);
  return createTimingCore();
}

test('the header and the module export the same functions', async () => {
  const core = await loadCore();
  const declared = [...header.matchAll(/\b(tutti_[a-z0-9_]+)\(/g)].map((m) => m[1]);
  assert.ok(declared.length > 40, `only ${declared.length} functions found in the header`);
  for (const name of new Set(declared)) {
    assert.equal(typeof core[`_${name}`], 'function', `${name} missing from the wasm module`);
  }
});

test('wasm reproduces the native results call for call', async () => {
  assert.ok(vectorsPath, 'TUTTI_TIMING_VECTORS is not set (run through ctest)');
  const core = await loadCore();
  const { ops } = JSON.parse(readFileSync(vectorsPath, 'utf8'));
  assert.ok(ops.length > 10000, `only ${ops.length} recorded calls`);
  const handles = new Map();
  let compared = 0;
  const kinds = new Set();
  for (const [i, op] of ops.entries()) {
    const fn = core[`_${op.f}`];
    assert.equal(typeof fn, 'function', `call ${i}: ${op.f} is not exported`);
    if (op.new) {
      const h = op.ref ? fn(handles.get(op.ref)) : fn();
      assert.ok(h, `call ${i}: ${op.f} returned null`);
      handles.set(op.new, h);
      continue;
    }
    const args = op.a.map((a) => (a === 'NaN' ? NaN : a));
    let got = fn(handles.get(op.h), ...args);
    if (!('r' in op)) continue;
    if (unsignedResults.has(op.f)) got >>>= 0;
    const want = op.r === 'NaN' ? NaN : op.r;
    if (!Object.is(got, want)) {
      assert.fail(`call ${i}: ${op.f}(${op.a.join(', ')}) = ${got} in wasm, ${want} natively`);
    }
    compared++;
    kinds.add(op.f);
  }
  // The session must have exercised the core, not just the getters.
  for (const f of ['tutti_clock_sync_on_sample', 'tutti_jitter_batch_push',
    'tutti_jitter_pop_due', 'tutti_jitter_out_local_us', 'tutti_jitter_snapshot_apply',
    'tutti_jitter_remove_sender', 'tutti_jitter_drop_connection']) {
    assert.ok(kinds.has(f), `the vectors never call ${f}`);
  }
  const played = ops.filter((o) => o.f === 'tutti_jitter_out_status' && o.r > 0).length;
  assert.ok(played > 1000, `only ${played} events played`);
  console.log(`# ${compared} results equal, ${played} events played, ${kinds.size} functions`);
});
