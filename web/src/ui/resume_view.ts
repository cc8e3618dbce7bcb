// ResumeView: the page's side of session resume and server notices (PROTOCOL.md §11,
// §12). It keeps the room on screen while the page's own connection is down (a banner
// says so), applies the ResumeResult (recovered: the replayed events follow through the
// App's usual handlers; unrecoverable: the room is rebuilt from the snapshot; refused or
// no room: a fresh join of the same room), shows others' reconnecting state
// (MemberConnection), and shows a drain's countdown and maintenance mode as a banner.
// Main thread only; one per App, which owns it and the state it edits.
import {
  type MemberConnection, ResumeOutcome, type ResumeResult, type RoomSnapshot, type ServerNotice,
  ServerNotice_Kind,
} from '../gen/tutti_pb.js';
import { senderKey } from '../audio/player.js';
import { RoomRequestGate } from '../net/resume.js';
import type { App } from './app.js';
import { $ } from './dom.js';
import { chatLine, clearChat, systemLine } from './room_view.js';

export class ResumeView {
  // The session id this page had before its latest Welcome (a resume gives a new one).
  previousSessionId: bigint | null = null;
  // Room requests made while this connection's ResumeResult has not come yet.
  private gate = new RoomRequestGate();
  private drainEndLocalMs = 0;
  private drainText = '';
  private drainTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private app: App) {}

  // This connection asked to resume and its ResumeResult has not come yet.
  get awaiting(): boolean { return this.gate.awaiting; }

  // A room request (join, create, lobby, leave): made now, or once the resume's answer
  // is applied when one is awaited (the latest one then).
  roomRequest(send: () => void): void {
    if (this.gate.request(send)) return;
    const note = 'Reconnecting: your request goes out as soon as the session is back.';
    if (this.app.screen === 'room') systemLine(note); else $('lobby-note').textContent = note;
  }

  // --- the page's own connection ----------------------------------------------------------

  // The connection dropped: with a resume token the room stays on screen (the others
  // see this page "reconnecting"); returns whether it did.
  onDropped(): boolean {
    const app = this.app;
    this.gate.drop();
    if (!app.room || !app.conn.resume.hasToken) { this.banner(''); return false; }
    // After a drain's close the drain banner says it all (the session ended: the page
    // rejoins when the server lets it in).
    this.banner(this.drainTimer ? ''
      : `Connection lost: reconnecting to ${app.room.roomName}… Your place is kept, and what you miss meanwhile is caught up when you are back.`);
    systemLine('Connection lost: reconnecting…', 'err');
    return true;
  }

  // A Welcome came on a connection that asked to resume: wait for its answer, and send
  // nothing room-related meanwhile (PROTOCOL.md §12).
  onResumeWelcome(): void {
    this.gate.hold();
    if (this.app.room) this.banner(`Reconnected: catching up with ${this.app.room.roomName}…`);
  }

  onResult(r: ResumeResult): void {
    const app = this.app;
    // A request the user made while waiting goes out once this answer is applied, in
    // place of a rejoin: it is the latest wish.
    const held = this.gate.release();
    if (held) $('lobby-note').textContent = '';
    this.banner('');
    const restored = r.outcome === ResumeOutcome.RESUME_RECOVERED || r.outcome === ResumeOutcome.RESUME_UNRECOVERABLE;
    if (restored && r.roomId !== '' && app.room && app.room.roomId === r.roomId) {
      // Our own entry moves to the new session id (a session id names the shard).
      if (r.you) app.members.rekey(senderKey(r.you.userId, this.previousSessionId ?? r.you.sessionId), r.you);
      if (r.outcome === ResumeOutcome.RESUME_RECOVERED) {
        systemLine(r.replayed > 0 ? `Reconnected: back in ${app.room.roomName}; ${r.replayed} missed event${r.replayed === 1 ? '' : 's'} caught up.`
          : `Reconnected: back in ${app.room.roomName}.`);
      } else if (r.snapshot) {
        this.applySnapshot(r.snapshot, true);
        systemLine(`Reconnected: back in ${app.room.roomName}; the missed events could not be replayed (${r.reason}), so the room was reloaded as it is now.`);
      }
      app.redrawUsers();
      app.refreshStatus();
      held?.();
      return;
    }
    // Nothing of the room was restored: join it again as after a first connect, unless
    // the server says we are no longer in it (kicked or banned while away).
    app.player?.releaseEverything(true);
    const had = app.room?.roomName ?? app.wantRoom?.name ?? '';
    app.room = null;
    app.members.clear();
    if (r.reason === 'no longer in the room') {
      if (!held) app.wantRoom = null;
      app.show('lobby');
      $('lobby-error').textContent = `You were removed from ${had} while away.`;
      held?.();
      return;
    }
    if (held) {
      app.show('lobby');  // the request's answer (a room or an error) follows
      held();
    } else if (app.wantRoom) {
      systemLine(`Reconnected, but the session was not kept (${r.reason || 'no room'}): rejoining ${app.wantRoom.name}…`);
      app.rejoin();
    } else {
      app.show('lobby');
    }
  }

  // A full room state (SYNC_STATE's RoomSnapshot, or an unrecoverable resume's): members,
  // settings, held notes, and with `withChat` the chat history too.
  applySnapshot(s: RoomSnapshot, withChat: boolean): void {
    const app = this.app;
    if (s.roomInfo) {
      app.room = s.roomInfo;
      app.metronome.set(s.roomInfo.tempo);
      $('room-title').textContent = s.roomInfo.roomName;
      $('room-topic').textContent = s.roomInfo.topic;
    }
    app.members.clear();
    for (const u of s.users) app.members.add(u);
    if (withChat) {
      clearChat();
      for (const c of s.chatHistory) chatLine(c);
    }
    for (const h of s.heldNotes) app.player?.onSnapshot(h);
    app.redrawUsers();
  }

  // --- others' connections ---------------------------------------------------------------

  onMemberConnection(mc: MemberConnection): void {
    const app = this.app;
    if (app.room && mc.roomId !== '' && mc.roomId !== app.room.roomId) return;
    if (mc.reconnecting) {
      const mem = app.members.of(mc.userId, mc.sessionId);
      if (!mem) return;
      mem.info.reconnecting = true;
      if (mc.sessionId !== app.me?.sessionId) systemLine(`${mem.info.username || mc.userId} lost their connection: reconnecting…`);
    } else {
      // Back under a new session id: re-key the member (their old sender's state goes).
      const old = app.members.of(mc.userId, mc.previousSessionId) ?? app.members.of(mc.userId, mc.sessionId);
      if (!old) return;
      if (mc.previousSessionId !== mc.sessionId) app.player?.removeSender(mc.userId, mc.previousSessionId);
      const key = app.members.of(mc.userId, mc.previousSessionId) ? senderKey(mc.userId, mc.previousSessionId) : senderKey(mc.userId, mc.sessionId);
      app.members.rekey(key, { ...old.info, sessionId: mc.sessionId, reconnecting: false });
      if (mc.sessionId !== app.me?.sessionId) systemLine(`${old.info.username || mc.userId} is back.`);
    }
    app.redrawUsers();
  }

  // --- the page's own banner -----------------------------------------------------------------

  // The page stopped trying (the user disconnected, a ban, an expired session).
  onClosed(): void { this.gate.drop(); this.banner(''); this.stopDrain(); this.notice(''); }

  private banner(text: string): void {
    $('conn-banner').hidden = text === '';
    $('conn-banner-text').textContent = text;
  }

  // --- server notices (drain countdown, maintenance mode) -------------------------------

  onNotice(n: ServerNotice): void {
    if (n.kind === ServerNotice_Kind.DRAIN) {
      this.drainEndLocalMs = performance.now() + Number(n.secondsLeft) * 1000;
      this.app.conn.drainReconnectMs = Number(n.reconnectAfterMs);
      this.drainText = n.message;
      if (!this.drainTimer) this.drainTimer = setInterval(() => this.showDrain(), 1000);
      this.showDrain();
    } else if (n.kind === ServerNotice_Kind.MAINTENANCE_ON) {
      this.notice(`Maintenance mode: ${n.message || 'the server takes no new connections for now'}. You can keep playing.`);
    } else if (n.kind === ServerNotice_Kind.MAINTENANCE_OFF) {
      // A drain called off: no close is coming, so no hint to wait for.
      this.app.conn.drainReconnectMs = 0;
      this.stopDrain();
      this.notice('');
    }
  }

  // A new connection was welcomed: an earlier drain is over.
  onWelcome(): void { this.stopDrain(); this.notice(''); }

  private showDrain(): void {
    // Counted on the local monotonic clock from the notice's seconds_left, so a wrong
    // wall clock on this machine cannot make the countdown lie.
    const left = Math.max(0, Math.ceil((this.drainEndLocalMs - performance.now()) / 1000));
    const what = this.drainText ? `Server maintenance: ${this.drainText}.` : 'Server maintenance.';
    this.notice(left > 0 ? `${what} The server closes the connection in ${left} s; the page reconnects by itself.`
      : `${what} The server closed the connection; back to the room as soon as it lets the page in again…`);
  }

  private stopDrain(): void {
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.drainTimer = null;
  }

  private notice(text: string): void {
    $('server-notice').hidden = text === '';
    $('server-notice-text').textContent = text;
  }
}
