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

// The server's hint for when to come back: the reason of a 1001 close after a drain
// ("server maintenance; reconnect in N s", PROTOCOL.md §11), or a DRAIN notice's
// reconnect_after_ms seen before the close. 0 when there is none.
export function reconnectHintMs(code: number, reason: string, noticeMs: number): number {
  if (code !== 1001) return 0;
  const m = /reconnect in (\d{1,6}) s/.exec(reason);
  return Math.max(m ? Number(m[1]) * 1000 : 0, noticeMs);
}

// The delay before retry `attempt` after a close carrying `hintMs`: never sooner than the
// hint, plus up to a base step of jitter so a drained server does not see every page
// come back in the same millisecond, and never sooner than the usual backoff.
export function delayAfterCloseMs(attempt: number, hintMs: number, random: () => number = Math.random): number {
  const usual = backoffDelayMs(attempt, random);
  if (hintMs <= 0) return usual;
  return Math.max(usual, hintMs + Math.round(BACKOFF_BASE_MS * Math.min(Math.max(random(), 0), 1)));
}
