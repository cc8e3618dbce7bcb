// The reconnect schedule (PROTOCOL.md §12): exponential from 1 s, doubling, capped at
// 30 s, with "equal jitter" (half the step fixed, half random) so a server restart does
// not see every page come back in the same millisecond. Pure; `random` is injected so the
// schedule is testable.
export const BACKOFF_BASE_MS = 1000;
export const BACKOFF_CAP_MS = 30000;

// Delay before reconnect attempt `attempt` (0 = the first retry after a drop).
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(Math.max(attempt, 0), 16));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(step / 2 + (step / 2) * r);
}
