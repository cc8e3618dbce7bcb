// The room screen's panels: the people list (roles, status, colour, latency) and the chat log
// (history, system and moderator lines, private messages, command answers). Rendering
// only; the App owns the state. Main thread only.
import { QualityGrade, Role, type RoomChatMessage, type UserInfo, UserStatus, ChatMessageType } from '../gen/tutti_pb.js';
import { $, colorFor, el } from './dom.js';
import { senderKey } from '../audio/player.js';
import { UNKNOWN } from './latency.js';

const MAX_LINES = 300;
const STATUS_NAMES: Record<number, string> = {
  [UserStatus.ONLINE]: 'online', [UserStatus.AWAY]: 'away', [UserStatus.BUSY]: 'busy',
  [UserStatus.INVISIBLE]: 'invisible', [UserStatus.OFFLINE]: 'offline',
};

export interface Member {
  info: UserInfo;
  status: UserStatus;
  statusText: string;
}

function roleBadges(info: UserInfo, ownerId: string): HTMLElement[] {
  const out: HTMLElement[] = [];
  const roles = new Set(info.roles);
  if (info.userId === ownerId || roles.has(Role.ROOM_OWNER)) out.push(el('span', { class: 'badge owner' }, 'owner'));
  else if (roles.has(Role.ROOM_MODERATOR)) out.push(el('span', { class: 'badge mod' }, 'mod'));
  if (roles.has(Role.SERVER_ADMIN)) out.push(el('span', { class: 'badge mod' }, 'admin'));
  else if (roles.has(Role.SERVER_MODERATOR)) out.push(el('span', { class: 'badge mod' }, 'staff'));
  out.push(el('span', { class: 'badge' }, info.isGuest ? 'guest' : 'member'));
  return out;
}

// Only room staff are sent members' link quality: a grade badge with the figures as its title.
const GRADES: Record<number, string> = { [QualityGrade.QUALITY_GOOD]: 'good', [QualityGrade.QUALITY_FAIR]: 'fair', [QualityGrade.QUALITY_POOR]: 'poor' };
function qualityBadge(info: UserInfo): HTMLElement[] {
  const q = info.quality;
  const grade = q ? GRADES[q.grade] : undefined;
  if (!q || !grade) return [];
  const title = `link ${grade}: round trip ${(q.rttUs / 1000).toFixed(1)} ms, clock ±${(q.offsetErrorUs / 1000).toFixed(1)} ms, ` +
    `late ${q.latePercent.toFixed(1)}%, dropped ${q.droppedPercent.toFixed(1)}%`;
  return [el('span', { class: `badge q-${grade}`, title, 'data-grade': grade }, grade)];
}

export function renderUsers(members: Member[], ownerId: string, meSession: bigint): void {
  const ul = $('user-list');
  ul.replaceChildren();
  for (const m of members) {
    const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.setProperty('background', colorFor(m.info.userId, m.info.avatar?.color));
    const name = el('span', {}, m.info.username + (m.info.sessionId === meSession ? ' (you)' : ''));
    const st = el('span', { class: 'st' }, STATUS_NAMES[m.status] ?? '' + (m.statusText ? ` – ${m.statusText}` : ''));
    if (m.statusText) st.textContent = `${STATUS_NAMES[m.status] ?? ''} – ${m.statusText}`;
    // Filled in by latency.ts: own round trip, or the delay this player's notes play at here.
    const you = m.info.sessionId === meSession;
    const lat = el('span', { class: 'lat', title: you ? 'your round trip to the server' : 'delay their notes are played at here' }, UNKNOWN);
    const extra = qualityBadge(m.info);
    // Dropped and within the resume grace (PROTOCOL.md §12): still here, greyed.
    if (m.info.reconnecting) extra.push(el('span', { class: 'badge reconnecting', title: 'connection lost; may come back' }, 'reconnecting…'));
    const li = el('li', { 'data-user': m.info.userId, 'data-sender': senderKey(m.info.userId, m.info.sessionId),
                          ...(m.info.reconnecting ? { class: 'reconnecting' } : {}) },
      sw, name, ...roleBadges(m.info, ownerId), st, lat, ...extra);
    ul.append(li);
  }
  $('user-count').textContent = `(${members.length})`;
}

function append(li: HTMLElement): void {
  const log = $('chat-log');
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 30;
  log.append(li);
  while (log.childElementCount > MAX_LINES) log.firstElementChild?.remove();
  if (stick) log.scrollTop = log.scrollHeight;
}

export function chatLine(m: RoomChatMessage): void {
  if (m.messageType === ChatMessageType.SYSTEM_MESSAGE) {
    append(el('li', { class: 'sys' }, m.message));
    return;
  }
  const who = el('span', { class: 'who' }, `${m.username}:`);
  who.style.setProperty('color', colorFor(m.userId));
  const cls = m.messageType === ChatMessageType.MODERATOR_MESSAGE ? 'mod-line' : 'user-line';
  append(el('li', { class: cls }, who, m.message));
}

export function pmLine(from: string, to: string, text: string, outgoing: boolean): void {
  const head = outgoing ? `→ ${to}:` : `${from} → you:`;
  append(el('li', { class: 'pm' }, el('span', { class: 'who' }, head), text));
}

export function systemLine(text: string, kind: 'sys' | 'cmd' | 'err' = 'sys'): void {
  append(el('li', { class: kind }, text));
}

export function clearChat(): void { $('chat-log').replaceChildren(); }
