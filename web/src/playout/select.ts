// Picks the timing core behind the seam (timing.ts). One place to switch to the
// WebAssembly build of midi/'s core once web/src/timing/ provides it.
import { createFallbackTiming } from './fallback_timing.js';
import type { Timing } from './timing.js';

export function createTiming(): Timing {
  return createFallbackTiming();
}
