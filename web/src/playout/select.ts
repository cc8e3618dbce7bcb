// Picks the timing core behind the seam (timing.ts): midi/'s own ClockSync and
// JitterBuffer compiled to WebAssembly (web/src/timing/), the same code as the native
// clients. Loading it is asynchronous (the module is instantiated once).
import type { Timing } from './timing.js';
import { createWasmTiming } from './wasm_timing.js';

export function createTiming(): Promise<Timing> {
  return createWasmTiming();
}
