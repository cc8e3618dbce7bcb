// Where a member page gets a fresh token without reconnecting (docs/WEB.md, "Keeping a
// member signed in"): the embedding site's `window.tuttiTokenProvider` (an async
// function, for a site that shares the page's origin), or the parent frame over
// postMessage when the page was opened with `?token-origin=<the site's origin>` (only
// answers from that exact origin and from the parent window itself are taken). Also the
// pure parts of the refresh plan, so node can test them. Main thread only; owned by the
// TokenRefresh (ui/token_refresh.ts).

declare global { interface Window { tuttiTokenProvider?: () => Promise<string> | string } }

// Long sessions refresh this long before the server's close; short ones half-way
// (the same rule as tools/client/token_refresher).
export const REFRESH_MARGIN_MS = 120_000;
// A refused or failed refresh is tried again after this long, while time remains.
export const REFRESH_RETRY_MS = 5_000;
// How long the page waits for the site's answer (provider or parent frame).
export const PARENT_ANSWER_MS = 10_000;

// When to ask for a fresh token for a session the server closes at `closeAtMs` (unix
// ms); null for a session that never closes (guests: 0).
export function refreshAtMs(closeAtMs: number, nowMs: number): number | null {
  if (!Number.isFinite(closeAtMs) || closeAtMs <= 0) return null;
  const left = closeAtMs - nowMs;
  if (left <= 0) return nowMs;
  return closeAtMs - Math.min(REFRESH_MARGIN_MS, left / 2);
}

// The origin a `?token-origin=` value names, or null when it names none a frame could
// have ('*', 'null', a relative or non-http(s) URL): postMessage is then not used.
export function allowedOriginOf(value: string | null): string | null {
  if (!value) return null;
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

// The token in a parent frame's answer, or null when the message is not one: it must
// come from `parent` itself, from exactly `allowedOrigin`, answer request `id`, and
// hold a non-empty string token of sane size.
export function tokenFromMessage(ev: { origin: string; source: unknown; data: unknown },
                                 allowedOrigin: string, parent: unknown, id: string): string | null {
  if (ev.origin !== allowedOrigin || ev.source !== parent || parent === null) return null;
  const d = ev.data as { type?: unknown; token?: unknown; id?: unknown } | null;
  if (typeof d !== 'object' || d === null || d.type !== 'tutti:token') return null;
  if (d.id !== undefined && d.id !== id) return null;
  if (typeof d.token !== 'string' || d.token === '' || d.token.length > 16384) return null;
  return d.token.trim();
}

let requestCounter = 0;

export class TokenSource {
  constructor(private win: Window, private allowedOrigin: string | null,
              private answerMs = PARENT_ANSWER_MS) {}

  // Whether the page has anywhere to ask (checked each time: a site may set its
  // provider after the page loaded).
  get available(): boolean {
    return typeof this.win.tuttiTokenProvider === 'function' ||
           (this.allowedOrigin !== null && this.win.parent !== this.win);
  }

  // A fresh token, or null with why in `error`.
  error = '';
  async fetch(): Promise<string | null> {
    this.error = '';
    const provider = this.win.tuttiTokenProvider;
    if (typeof provider === 'function') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A provider that never settles must not stall refreshes for good.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), this.answerMs);
      });
      try {
        const t = await Promise.race([Promise.resolve().then(provider), late]);
        if (typeof t === 'string' && t.trim() !== '') return t.trim();
        this.error = 'the site gave no token';
      } catch (e) {
        this.error = `the site's token provider failed (${(e as Error)?.message ?? e})`;
      } finally {
        clearTimeout(timer);
      }
      return null;
    }
    if (this.allowedOrigin !== null && this.win.parent !== this.win) return this.askParent(this.allowedOrigin);
    this.error = 'this page has no token source';
    return null;
  }

  private askParent(origin: string): Promise<string | null> {
    const id = `t${++requestCounter}`;
    return new Promise((resolve) => {
      const done = (t: string | null) => {
        this.win.removeEventListener('message', onMessage);
        clearTimeout(timer);
        resolve(t);
      };
      const onMessage = (ev: MessageEvent) => {
        const t = tokenFromMessage(ev, origin, this.win.parent, id);
        if (t !== null) done(t);
      };
      const timer = setTimeout(() => { this.error = 'the site did not answer'; done(null); }, this.answerMs);
      this.win.addEventListener('message', onMessage);
      // Addressed to the configured origin only: no other site learns that we asked.
      this.win.parent.postMessage({ type: 'tutti:token-request', id }, origin);
    });
  }
}
