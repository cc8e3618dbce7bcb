// The App: the page's controller. It owns the connection, the audio engine, the inputs
// and the room state, turns server messages into screen updates and user actions into
// requests, and resumes its session (resume_view.ts) or rejoins its room after a
// reconnect; while it is in a room its connection keeps a second one (link_view.ts).
// The other members' events are shown by member_events.ts. Main thread only; one per page.
import {
  type ClientMessage, Role, type RoomInfo, ServerCommandType, type UserInfo,
  UserStatus,
} from '../gen/tutti_pb.js';
import { PianoSynth, type ScheduledNote } from '../audio/piano.js';
import { Player, senderKey } from '../audio/player.js';
import { ComputerKeys } from '../input/computer_keys.js';
import { WebMidi } from '../input/webmidi.js';
import { Connection, type ConnState, nowLocalUs } from '../net/connection.js';
import { wsOriginOf, type Identity, type ServerInfo } from '../net/auth.js';
import type { Timing } from '../playout/timing.js';
import { $, $in, $sel, colorFor, el, readFragment } from './dom.js';
import { PianoView } from './piano_view.js';
import { chatLine, clearChat, pmLine, renderUsers, systemLine } from './room_view.js';
import { LOCAL_HELP, parseChatInput } from './commands.js';
import { FriendsView } from './friends_view.js';
import { TokenRefresh } from './token_refresh.js';
import { latencyOf, showQualityPanel, updateLatencyCells } from './latency.js';
import { RoomMembers } from './members.js';
import { type Metronome, startMetronome } from './music.js';
import { ResumeView } from './resume_view.js';
import { readCreateForm, renderRoomList } from './lobby_view.js';
import type { MessageKind } from '../net/resume.js';
import { allowedOriginOf, TokenSource } from '../net/token_source.js';
import { initLinkSwitch, showLink } from './link_view.js';
import { onMemberEvent } from './member_events.js';

type Screen = 'connect' | 'lobby' | 'room';
// Set by a test before the page loads: it records what the engine schedules and may
// widen the playout delay so that a saturated test machine cannot make a note late
// enough to be dropped (tests never depend on timing).
interface TestHook { scheduled: (ScheduledNote & { ctxNow: number })[]; delayBoundsUs?: [number, number]; }
declare global { interface Window { __TUTTI_TEST__?: TestHook; tutti?: App; } }

const ROOM_LIST_REFRESH_MS = 5000;

export class App {
  timing: Timing;
  conn: Connection;
  ctx: AudioContext | null = null;
  synth: PianoSynth | null = null;
  player: Player | null = null;
  piano: PianoView;
  keys: ComputerKeys;
  midi: WebMidi;
  friends: FriendsView;
  tokens: TokenRefresh;
  screen: Screen = 'connect';
  me: { userId: string; sessionId: bigint; username: string } | null = null;
  room: RoomInfo | null = null;
  members = new RoomMembers();
  wantRoom: { name: string; password: string } | null = null;
  private rejoining = false;
  private leaveRequest = '';  // request id of our last LeaveRoom
  private pendingPm = new Map<string, string>();  // request id -> recipient as typed
  private listTimer: ReturnType<typeof setInterval> | null = null;
  private identity: Identity | null = null;
  metronome: Metronome;
  resume: ResumeView = new ResumeView(this);

  constructor(timing: Timing) {
    this.timing = timing;
    const bounds = window.__TUTTI_TEST__?.delayBoundsUs;
    if (bounds) timing.playout.setDelayBounds(bounds[0], bounds[1]);
    const params = new URLSearchParams(location.search);
    // ?ws=ws://host:port lets a development page talk to a server on another origin.
    const wsOrigin = params.get('ws') ?? wsOriginOf(location);
    this.conn = new Connection(this.timing.clock, {
      state: (s, d) => this.onState(s, d),
      // After each message: whether a second connection is wanted may have changed.
      message: (m, at, kind) => { this.onMessage(m, at, kind); this.syncLink(); },
      opened: (first, resuming) => this.onOpened(first, resuming),
      dropped: () => this.onDropped(),
      linkChanged: () => showLink(this.conn.link),
    }, wsOrigin, params.get('info') ?? '/api/server-info');
    initLinkSwitch(this.conn.link, params);
    this.piano = new PianoView($('piano'), {
      press: (n, v) => this.play(new Uint8Array([0x90, n, v])),
      release: (n) => this.play(new Uint8Array([0x80, n, 0])),
    });
    this.keys = new ComputerKeys(window, {
      press: (n, v) => this.screen === 'room' && this.play(new Uint8Array([0x90, n, v])),
      release: (n) => this.play(new Uint8Array([0x80, n, 0])),
      sustain: (d) => this.screen === 'room' && this.play(new Uint8Array([0xb0, 64, d ? 127 : 0])),
      octaveChanged: () => this.refreshLabels(),
    });
    this.midi = new WebMidi((b) => { if (this.screen === 'room') this.play(b); }, () => this.fillMidiPickers());
    this.friends = new FriendsView(
      (target, action) => this.conn.send({ case: 'friendRequest', value: { targetUserId: target, action } }, true),
      (text) => { if (this.screen === 'room') systemLine(text); else $('lobby-note').textContent = text; },
      (roomId) => this.join(roomId));
    // A member's fresh tokens come from the embedding site (docs/WEB.md).
    this.tokens = new TokenRefresh(this.conn, new TokenSource(window, allowedOriginOf(params.get('token-origin'))),
      (t) => { this.conn.updateToken(t); $in('token').value = t; });
    this.bindUi();
    this.refreshLabels();
    void this.readServerInfo();
    setInterval(() => { this.showQuality(); this.player?.tick(); this.showLatency(); this.syncLink(); showLink(this.conn.link); }, 1000);
    this.metronome = startMetronome(this, () => this.ensureAudio());
    window.tutti = this;
  }

  // --- audio -----------------------------------------------------------------------------

  private ensureAudio(): void {
    if (!this.ctx) {
      this.ctx = new AudioContext({ latencyHint: 'interactive' });
      this.synth = new PianoSynth(this.ctx);
      this.synth.setVolume(Number($in('volume').value) / 100);
      this.player = new Player(this.synth, this.timing, (n, owner) => this.lightKey(n, owner), nowLocalUs);
      this.player.isSelf = (s) => this.me !== null && s === senderKey(this.me.userId, this.me.sessionId);
      this.player.midiOut = (bytes, atMs) => { if (this.midi.output) this.midi.sendOut(bytes, atMs); };
      const hook = window.__TUTTI_TEST__;
      if (hook) this.synth.onSchedule = (n) => hook.scheduled.push({ ...n, ctxNow: this.ctx!.currentTime });
    }
    if (this.ctx.state !== 'running') void this.ctx.resume().then(() => this.soundButton());
    this.soundButton();
  }
  private soundButton(): void {
    $('sound-on').hidden = !this.ctx || this.ctx.state === 'running';
  }

  private lightKey(note: number, owner: string | null): void {
    if (owner === null) { this.piano.setLit(note, null); return; }
    const m = owner === 'local' ? null : this.members.get(owner);
    const id = owner === 'local' ? this.me?.userId ?? 'me' : m?.info.userId ?? owner;
    this.piano.setLit(note, colorFor(id, m?.info.avatar?.color));
  }

  // One MIDI message from any local input: heard at once, sent to the room.
  play(bytes: Uint8Array): void {
    if (this.screen !== 'room') return;
    this.ensureAudio();
    this.player?.playLocal(bytes);
    // Nothing room-related between a resume's Welcome and its answer (PROTOCOL.md §12).
    if (!this.conn.isOpen || !this.room || this.resume.awaiting) return;
    const c = this.timing.clock;
    const ts = c.synced ? BigInt(Math.round(c.serverFromLocal(nowLocalUs()))) : 0n;
    this.conn.sendMidi({ midiData: bytes, timestamp: ts });  // on the link too (PROTOCOL.md §16)
  }

  // A second connection is wanted while the page plays in a room on a settled session.
  private syncLink(): void {
    this.conn.link.want(this.conn.isOpen && this.room !== null && !this.resume.awaiting);
  }

  // --- connection ----------------------------------------------------------------------------

  private showServerLine(info: ServerInfo): void {
    $('server-line').textContent = `${info.version || 'Tutti'} · ${info.guestsAllowed ? 'guests welcome' : 'members only (token needed)'}`;
  }

  private async readServerInfo(): Promise<void> {
    try {
      const info = await this.conn.fetchInfo();
      this.showServerLine(info);
    } catch (e) {
      $('server-line').textContent = `Cannot read the server's information: ${(e as Error).message}`;
    }
    this.takeFragment();
  }

  // #room=NAME joins (or opens) that room; #token=JWT connects as that member. Also on
  // hashchange, so an embedding site can hand over a token without reloading the page.
  private takeFragment(): void {
    const frag = readFragment(location.hash);
    const room = frag.get('room');
    if (room) $in('join-name').value = room;
    const token = frag.get('token');
    if (token) {
      // The fragment never reaches a server; it is taken out of the address bar at once
      // so a copied link does not carry the token.
      history.replaceState(null, '', location.pathname + location.search + (room ? `#room=${encodeURIComponent(room)}` : ''));
      // A fresh token for the member already connected refreshes the open session.
      if (this.conn.isOpen && this.tokens.sameUser(token)) { this.tokens.send(token); return; }
      (document.querySelector('input[value=member]') as HTMLInputElement).checked = true;
      this.toggleAs();
      $in('token').value = token;
      if (room) this.wantRoom = { name: room, password: '' };
      if (this.conn.state !== 'idle' && this.conn.state !== 'closed') this.conn.stop();
      this.connect();
      return;
    }
    if (!room) return;
    if (this.conn.isOpen) {
      if (room.toLowerCase() !== this.room?.roomName.toLowerCase()) this.joinOrCreate(room);
    } else {
      this.wantRoom = { name: room, password: '' };
    }
  }

  connect(): void {
    const member = (document.querySelector('input[name=as]:checked') as HTMLInputElement).value === 'member';
    const name = $in('name').value.trim();
    const token = $in('token').value.trim();
    $('connect-error').textContent = '';
    if (member && !token) { $('connect-error').textContent = 'Paste a token first.'; return; }
    if (!member && !name) { $('connect-error').textContent = 'Pick a name first.'; return; }
    if (!member) localStorage.setItem('tutti.name', name);
    this.ensureAudio();
    void this.midi.init().then(() => this.fillMidiPickers());
    this.identity = member ? { name: '', token } : { name };
    this.conn.start(this.identity);
  }

  private onState(s: ConnState, detail: string): void {
    const dot = $('status-dot');
    dot.className = `dot ${s}`;
    $('status-text').textContent = detail + (s === 'open' && this.room ? ` · in ${this.room.roomName}` : '');
    $('disconnect').hidden = s === 'idle' || s === 'closed';
    $('retry').hidden = s !== 'waiting';
    if (this.conn.info) this.showServerLine(this.conn.info);  // read anew on every attempt
    if (s === 'closed') {
      this.tokens.stop();
      this.resume.onClosed();
      $('token-notice').hidden = true;
      this.stopListRefresh();
      this.room = null;
      this.members.clear();
      this.show('connect');
      if (detail !== 'disconnected') $('connect-error').textContent = detail;
    }
  }

  private onOpened(first: boolean, resuming: boolean): void {
    this.resume.onWelcome();
    // The ResumeResult that follows says whether the room is back or must be joined; room
    // requests made before it wait for it, in the lobby too.
    if (resuming) this.resume.onResumeWelcome();
    if (resuming && (this.room || this.wantRoom)) return;
    if (this.wantRoom) {
      // Create-or-join: after a server restart an ordinary room is gone until its first
      // member comes back, and a link may name a room nobody opened yet.
      if (!first) systemLine(`Reconnected; rejoining ${this.wantRoom.name}…`);
      this.rejoining = !first;
      this.joinOrCreate(this.wantRoom.name, this.wantRoom.password);
    } else {
      this.show('lobby');
    }
  }

  private onDropped(): void {
    this.tokens.stop();
    // Nothing may keep sounding: others' notes, our own, the pedal, lit keys.
    this.piano.releaseAllPointers();
    this.keys.releaseAll();
    this.player?.releaseEverything();
    this.midi.silenceOutput();
    // With a resume token the room stays on screen until the resume's answer.
    if (this.resume.onDropped()) return;
    if (this.room) systemLine('Connection lost: reconnecting…', 'err');
    this.room = null;
    this.members.clear();
    this.stopListRefresh();
  }

  disconnect(): void {
    this.wantRoom = null;
    this.conn.stop();
    this.player?.releaseEverything();
  }

  // --- screens ---------------------------------------------------------------------------------

  show(s: Screen): void {
    this.screen = s;
    for (const n of ['connect', 'lobby', 'room'] as Screen[]) $(`screen-${n}`).hidden = n !== s;
    if (s === 'lobby') this.startListRefresh(); else this.stopListRefresh();
    if (s === 'room') requestAnimationFrame(() => this.piano.reveal(this.keys.baseNote()));
    // One friends panel, shown beside whichever screen is up.
    if (s === 'connect') $('friends').hidden = true;
    else (s === 'room' ? $('room-side') : $('screen-lobby')).append($('friends'));
  }

  private startListRefresh(): void {
    this.conn.send({ case: 'getRoomList', value: {} });
    if (!this.listTimer) {
      this.listTimer = setInterval(() => this.conn.send({ case: 'getRoomList', value: {} }), ROOM_LIST_REFRESH_MS);
    }
  }
  private stopListRefresh(): void {
    if (this.listTimer) clearInterval(this.listTimer);
    this.listTimer = null;
  }

  join(name: string, password = ''): void {
    $('lobby-error').textContent = '';
    this.wantRoom = { name, password };
    this.resume.roomRequest(() => this.conn.send({ case: 'joinRoomByName', value: { roomName: name, password } }, true));
  }

  // A link names a room that may not be open yet: create-or-join, like a rejoin.
  joinOrCreate(name: string, password = ''): void {
    $('lobby-error').textContent = '';
    this.wantRoom = { name, password };
    this.resume.roomRequest(() => this.conn.send({ case: 'serverCommand', value: {
      commandType: ServerCommandType.CREATE_OR_JOIN_ROOM,
      parameters: { room_name: name, password },
    } }, true));
  }

  leave(): void {
    this.wantRoom = null;
    this.resume.roomRequest(() => { this.leaveRequest = this.conn.send({ case: 'leaveRoom', value: {} }, true); });
    history.replaceState(null, '', location.pathname + location.search);
  }

  private createRoom(): void {
    const c = readCreateForm();
    this.wantRoom = { name: c.roomName, password: c.password };
    this.resume.roomRequest(() => this.conn.send({ case: 'createRoomCommand', value: c }, true));
  }

  // --- server messages -----------------------------------------------------------------------

  redrawUsers(): void {
    if (!this.room || !this.me) return;
    renderUsers([...this.members.values()], this.room.ownerId, this.me.sessionId);
    this.showLatency();
  }
  private showLatency(): void {
    if (this.me && this.room) updateLatencyCells($('user-list'), senderKey(this.me.userId, this.me.sessionId), latencyOf(this.timing));
  }

  // The status line after a room change or a resume.
  refreshStatus(): void { this.onState(this.conn.state, 'connected'); }
  // Join the wanted room again (create-or-join), as after a drop without resume.
  rejoin(): void {
    if (!this.wantRoom) return;
    this.rejoining = true;
    this.joinOrCreate(this.wantRoom.name, this.wantRoom.password);
  }

  private onMessage(m: ClientMessage, at: number, kind: MessageKind): void {
    const v = m.message;
    if (kind === 'duplicate') return;  // a room event already applied (PROTOCOL.md §12)
    switch (v.case) {
      case 'welcome': {
        const u = v.value.user!;
        this.resume.previousSessionId = this.me?.sessionId ?? null;
        this.me = { userId: u.userId, sessionId: u.sessionId, username: u.username };
        $('me-name').textContent = u.username;
        this.friends.setEnabled(!u.isGuest);
        this.tokens.onWelcome(u.isGuest ? '' : u.userId, Number(v.value.sessionExpiresUnixMs));
        break;
      }
      case 'tokenExpiring': this.tokens.onExpiring(Number(v.value.sessionExpiresUnixMs)); break;
      case 'permissionsUpdated': this.onPermissions(v.value.user, v.value.roomId, m.requestId, Number(v.value.sessionExpiresUnixMs)); break;
      case 'roomList': renderRoomList(v.value.rooms, (n, pw) => this.join(n, pw)); break;
      case 'roomJoinedResponse': {
        const r = v.value;
        if (!r.success) { this.joinFailed(r.errorMessage); break; }
        // Whatever the previous room was playing stops here (a switch may bring its
        // RoomLeft later, and that is ignored).
        if (this.room?.roomId !== r.roomInfo?.roomId) this.player?.releaseEverything(true);
        this.room = r.roomInfo ?? null;
        this.metronome.set(this.room?.tempo);
        this.members.clear();
        for (const u of [...r.currentUsers, ...(r.you ? [r.you] : [])]) {
          this.members.add(u);
        }
        if (this.wantRoom) this.wantRoom.name = this.room?.roomName ?? this.wantRoom.name;
        else this.wantRoom = { name: this.room?.roomName ?? '', password: '' };
        $('room-title').textContent = this.room?.roomName ?? '';
        $('room-topic').textContent = this.room?.topic ?? '';
        history.replaceState(null, '', `${location.pathname}${location.search}#room=${encodeURIComponent(this.room?.roomName ?? '')}`);
        clearChat();
        for (const c of r.chatHistory) chatLine(c);
        if (this.rejoining) systemLine(`Reconnected: back in ${this.room?.roomName ?? 'the room'}.`);
        this.rejoining = false;
        for (const s of r.heldNotes) this.player?.onSnapshot(s);
        this.redrawUsers();
        this.show('room');
        this.onState(this.conn.state, 'connected');
        break;
      }
      case 'roomLeft': {
        // Rooms live on different shards: when switching, the old room's RoomLeft may
        // arrive after the new room's RoomJoinedResponse. It is about a room we are no
        // longer showing.
        if (this.room && v.value.roomId !== this.room.roomId) break;
        this.player?.releaseEverything(true);
        this.midi.silenceOutput();
        this.room = null;
        this.members.clear();
        if (v.value.reason !== 'left') $('lobby-error').textContent = `You were removed from the room (${v.value.reason}).`;
        // Our own Leave, or a removal: stay out. A switch to another room (its RoomLeft
        // carries the join's request id) keeps the room we are going to.
        const ours = m.requestId !== '' && m.requestId === this.leaveRequest;
        if (v.value.reason !== 'left' || ours) this.wantRoom = null;
        this.show('lobby');  // the join's answer (room or error) follows a switch
        this.onState(this.conn.state, 'connected');
        break;
      }
      case 'roomSnapshot': this.resume.applySnapshot(v.value, false); break;
      case 'resumeResult': this.resume.onResult(v.value); break;
      case 'memberConnection': this.resume.onMemberConnection(v.value); break;
      case 'serverNotice': this.resume.onNotice(v.value); break;
      case 'roomChatMessage': chatLine(v.value); break;
      case 'privateMessage': {
        const p = v.value;
        // Our own copy (the confirmation) echoes the request id; show whom we wrote to
        // by the name typed, the server may have resolved it to an id.
        const to = this.pendingPm.get(m.requestId);
        this.pendingPm.delete(m.requestId);
        pmLine(p.fromUsername, to ?? p.toUserId, p.message, to !== undefined);
        break;
      }
      case 'commandResult':
        systemLine(v.value.lines.join('\n') || (v.value.ok ? 'done' : 'failed'), 'cmd');
        break;
      case 'errorMessage': {
        if (this.tokens.onError(m.requestId, v.value.errorDetails.reason ?? v.value.errorCode)) break;
        const text = `${v.value.errorCode}: ${v.value.errorMessage}`;
        if (this.screen === 'room') systemLine(text, 'err'); else $('lobby-error').textContent = text;
        if (this.screen !== 'room' && m.requestId && this.wantRoom && /NOT_FOUND|WRONG_PASSWORD|ROOM_FULL|BANNED|PERMISSION_DENIED|ALREADY_EXISTS|INVALID_PARAMETERS/.test(v.value.errorCode)) {
          this.wantRoom = null;
          this.show('lobby');
        }
        break;
      }
      case 'midiMessage': {
        this.ensureAudio();
        // Replayed history is fast-forwarded, never played late as if live (PROTOCOL.md §12).
        if (kind === 'replayed') this.player?.onReplayedMidi(v.value); else this.player?.onMidi(v.value, at);
        break;
      }
      case 'heldNotesSnapshot': this.player?.onSnapshot(v.value); break;
      case 'friendList': this.friends.onList(v.value.friends); break;
      case 'friendEvent': this.friends.onEvent(v.value); break;
      case 'chatCleared': clearChat(); systemLine('The chat was cleared.'); break;
      case 'tempoState': this.metronome.set(v.value); break;
      default: onMemberEvent(this, v); break;
    }
  }

  // A refresh took effect: ours (no room id: server roles, the room keeps its own) or
  // another member's in our room (their roles in the room).
  private onPermissions(u: UserInfo | undefined, roomId: string, requestId: string, closeAtMs: number): void {
    if (!u) return;
    const mine = this.me !== null && u.sessionId === this.me.sessionId;
    if (mine && roomId === '') this.tokens.onUpdated(requestId, closeAtMs);
    const mem = this.members.of(u.userId, u.sessionId);
    if (!mem) return;
    const roomRoles = roomId === '' ? mem.info.roles.filter((r) => r === Role.ROOM_OWNER || r === Role.ROOM_MODERATOR) : [];
    mem.info.roles = [...new Set([...u.roles, ...roomRoles])];
    this.redrawUsers();
  }

  private joinFailed(msg: string): void {
    this.wantRoom = null;
    $('lobby-error').textContent = msg || 'Could not join.';
    this.show('lobby');
  }

  // --- UI bindings ---------------------------------------------------------------------------

  private toggleAs(): void {
    const member = (document.querySelector('input[name=as]:checked') as HTMLInputElement).value === 'member';
    $('name-row').hidden = member;
    $('token-row').hidden = !member;
    $in('name').required = !member;
  }

  private refreshLabels(): void {
    this.piano.setLabels(this.keys.labels());
    $('octave').textContent = `C${this.keys.octave}`;
    if (this.screen === 'room') this.piano.reveal(this.keys.baseNote());
  }

  private fillMidiPickers(): void {
    const fill = (sel: HTMLSelectElement, items: { id: string; name: string }[], none: string) => {
      const keep = sel.value;
      sel.replaceChildren(el('option', { value: '' }, none), ...items.map((p) => el('option', { value: p.id }, p.name)));
      if (items.some((p) => p.id === keep)) sel.value = keep;
      else if (sel.id === 'midi-in' && items.length > 0 && keep === '') { sel.value = items[0].id; this.midi.selectInput(items[0].id); }
    };
    const none = this.midi.error ? '(no MIDI access)' : '(none)';
    $sel('midi-in').title = this.midi.error;
    fill($sel('midi-in'), this.midi.inputs(), none);
    fill($sel('midi-out'), this.midi.outputs(), this.midi.error ? '(unavailable)' : '(off)');
  }

  private sendChat(text: string): void {
    const cmd = parseChatInput(text);
    if (cmd.kind === 'empty') return;
    if (cmd.kind !== 'localHelp' && (!this.conn.isOpen || this.resume.awaiting)) { systemLine('Not connected: not sent.', 'err'); return; }
    if (cmd.kind === 'localHelp') { systemLine(LOCAL_HELP, 'cmd'); }
    if (cmd.kind === 'pm') {
      const id = this.conn.send({ case: 'privateMessage', value: { toUserId: cmd.to, message: cmd.text } }, true);
      if (id) this.pendingPm.set(id, cmd.to);
      return;
    }
    if (cmd.kind === 'status') {
      this.setStatus(cmd.status, cmd.text);
      return;
    }
    this.conn.send({ case: 'roomChatMessage', value: { message: cmd.text } }, true);
  }

  private setStatus(status: UserStatus, text: string): void {
    $sel('my-status').value = String(status);
    this.conn.send({ case: 'userStatusUpdate', value: { status, statusText: text } }, true);
  }

  private showQuality(): void { showQualityPanel(this.conn, this.timing); }

  private bindUi(): void {
    $in('name').value = localStorage.getItem('tutti.name') ?? '';
    for (const r of document.querySelectorAll('input[name=as]')) r.addEventListener('change', () => this.toggleAs());
    $('connect-form').addEventListener('submit', (e) => { e.preventDefault(); this.connect(); });
    $('disconnect').addEventListener('click', () => this.disconnect());
    $('retry').addEventListener('click', () => this.conn.retryNow());
    $('refresh-rooms').addEventListener('click', () => this.conn.send({ case: 'getRoomList', value: {} }));
    $('join-lobby').addEventListener('click', () => {
      this.wantRoom = { name: 'Lobby', password: '' };
      this.resume.roomRequest(() => this.conn.send({ case: 'joinNextAvailableLobby', value: {} }, true));
    });
    $('join-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.join($in('join-name').value.trim(), $in('join-password').value);
    });
    $('create-form').addEventListener('submit', (e) => { e.preventDefault(); this.createRoom(); });
    $('leave').addEventListener('click', () => this.leave());
    $('copy-link').addEventListener('click', () => {
      const link = `${location.origin}${location.pathname}#room=${encodeURIComponent(this.room?.roomName ?? '')}`;
      void navigator.clipboard?.writeText(link).then(() => systemLine(`Link copied: ${link}`), () => systemLine(`Room link: ${link}`));
    });
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = $in('chat-input');
      this.sendChat(input.value);
      input.value = '';
    });
    $('oct-down').addEventListener('click', () => this.keys.shift(-1));
    $('oct-up').addEventListener('click', () => this.keys.shift(1));
    $in('velocity').addEventListener('input', () => { this.keys.velocity = Number($in('velocity').value); });
    $in('volume').addEventListener('input', () => this.synth?.setVolume(Number($in('volume').value) / 100));
    $sel('midi-in').addEventListener('change', () => this.midi.selectInput($sel('midi-in').value));
    $sel('midi-out').addEventListener('change', () => this.midi.selectOutput($sel('midi-out').value));
    $sel('my-status').addEventListener('change', () => this.setStatus(Number($sel('my-status').value) as UserStatus, ''));
    $('sound-on').addEventListener('click', () => this.ensureAudio());
    document.addEventListener('pointerdown', () => { if (this.ctx && this.ctx.state !== 'running') this.ensureAudio(); });
    window.addEventListener('hashchange', () => this.takeFragment());
  }
}
