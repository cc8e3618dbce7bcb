// Keeps a member's session alive past its token (PROTOCOL.md §1, "Token expiry and
// refresh"): from the Welcome's close time it plans a refresh, asks the page's token
// source (net/token_source.ts) and sends ServerCommand UPDATE_PERMISSIONS on the open
// connection; TokenExpiring brings the plan forward. With no source, or when the
// server refuses the token, it shows a notice with a field to paste a new one. Guests
// (close time 0) are never touched. Main thread only; owned by the App (ui/app.ts).
import { ServerCommandType } from '../gen/tutti_pb.js';
import type { Connection } from '../net/connection.js';
import { tokenClaims } from '../net/auth.js';
import { refreshAtMs, REFRESH_RETRY_MS, type TokenSource } from '../net/token_source.js';
import { $, $in } from './dom.js';

const MAX_TIMER_MS = 2 ** 31 - 1;

export class TokenRefresh {
  closeAtMs = 0;        // when the server closes this session; 0: never (guest)
  refreshes = 0;        // accepted refreshes on this page
  welcomes = 0;         // sessions opened (a reconnect is a second one)
  private sub = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight = '';  // request id of the UPDATE_PERMISSIONS awaiting its answer

  constructor(private conn: Connection, private source: TokenSource,
              private accepted: (token: string) => void) {
    $('token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const t = $in('token-new').value.trim();
      if (t) this.send(t);
    });
  }

  // A new session: `sub` is the token's user, `closeAtMs` the Welcome's close time.
  onWelcome(sub: string, closeAtMs: number): void {
    this.welcomes++;
    this.sub = sub;
    this.inFlight = '';
    this.hideNotice();
    this.plan(closeAtMs);
  }

  onExpiring(closeAtMs: number): void {
    if (!this.source.available) { this.showNotice('no token source'); return; }
    this.plan(closeAtMs);
  }

  // Our own PermissionsUpdated (not another member's in the room).
  onUpdated(requestId: string, closeAtMs: number): void {
    if (requestId !== '' && requestId !== this.inFlight) return;
    this.inFlight = '';
    this.refreshes++;
    this.hideNotice();
    this.plan(closeAtMs);
  }

  // An ErrorMessage: true when it answered our refresh.
  onError(requestId: string, reason: string): boolean {
    if (requestId === '' || requestId !== this.inFlight) return false;
    this.inFlight = '';
    this.showNotice(`the new token was refused (${reason})`);
    this.retryLater();
    return true;
  }

  // The connection dropped or was closed: nothing to plan until the next Welcome.
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight = '';
    this.closeAtMs = 0;
  }

  // A token handed over some other way (a new #token= fragment) for the same user.
  sameUser(token: string): boolean {
    try { return this.sub !== '' && this.closeAtMs > 0 && tokenClaims(token).sub === this.sub; } catch { return false; }
  }

  send(token: string): void {
    if (!this.sameUser(token)) {
      this.showNotice('that token is for another user (or not a token)');
      return;
    }
    const id = this.conn.send({ case: 'serverCommand', value: {
      commandType: ServerCommandType.UPDATE_PERMISSIONS, parameters: { token },
    } }, true);
    if (!id) return;  // not connected: the reconnect uses the token
    this.inFlight = id;
    this.accepted(token);
  }

  private plan(closeAtMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeAtMs = closeAtMs;
    const at = refreshAtMs(closeAtMs, Date.now());
    if (at === null) return;
    this.timer = setTimeout(() => { this.timer = null; void this.refresh(); },
                            Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
  }

  private retryLater(): void {
    if (this.timer || this.closeAtMs <= 0 || Date.now() + REFRESH_RETRY_MS >= this.closeAtMs) return;
    this.timer = setTimeout(() => { this.timer = null; void this.refresh(); }, REFRESH_RETRY_MS);
  }

  private async refresh(): Promise<void> {
    if (this.inFlight || this.closeAtMs <= 0) return;
    if (!this.source.available) { this.showNotice('no token source'); return; }
    const token = await this.source.fetch();
    if (this.closeAtMs <= 0) return;  // dropped meanwhile
    if (token === null) {
      this.showNotice(this.source.error);
      this.retryLater();
      return;
    }
    this.send(token);
  }

  private showNotice(why: string): void {
    const at = new Date(this.closeAtMs).toLocaleTimeString();
    $('token-notice-text').textContent =
      `Your sign-in runs out at ${at} (${why}). Paste a new token from your site to stay connected:`;
    $('token-notice').hidden = false;
  }
  private hideNotice(): void {
    $('token-notice').hidden = true;
    $in('token-new').value = '';
  }
}
