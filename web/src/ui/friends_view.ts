// The friends panel (members only: guests cannot have friends, PROTOCOL.md §9): the
// list with presence (status, room), incoming requests to accept or decline, outgoing
// ones to withdraw, a form to send a request by name, and remove/block. Rendering and
// the requests it sends; the App feeds it FriendList and FriendEvent. Main thread only.
import {
  FriendAction, FriendEventKind, type FriendEvent, type FriendInfo, UserStatus,
} from '../gen/tutti_pb.js';
import { $, $in, el } from './dom.js';

const STATUS: Record<number, string> = {
  [UserStatus.ONLINE]: 'online', [UserStatus.AWAY]: 'away', [UserStatus.BUSY]: 'busy',
  [UserStatus.INVISIBLE]: 'offline', [UserStatus.OFFLINE]: 'offline',
};

export type FriendSender = (target: string, action: FriendAction) => void;

export class FriendsView {
  private friends = new Map<string, FriendInfo>();

  constructor(private send: FriendSender, private notify: (text: string) => void,
              private joinRoom: (roomId: string) => void) {
    $('friend-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const name = $in('friend-name').value.trim();
      if (!name) return;
      this.send(name, FriendAction.SEND_REQUEST);
      $in('friend-name').value = '';
    });
  }

  // Members get the panel; guests a line saying why not.
  setEnabled(member: boolean): void {
    $('friends').hidden = false;
    $('friend-form').hidden = !member;
    $('friends-guest').hidden = member;
    if (member) this.send('', FriendAction.LIST_FRIENDS);
    else { this.friends.clear(); this.render(); }
  }

  onList(list: FriendInfo[]): void {
    this.friends = new Map(list.map((f) => [f.userId, f]));
    this.render();
  }

  onEvent(ev: FriendEvent): void {
    const f = ev.friendInfo;
    if (!f) return;
    switch (ev.kind) {
      case FriendEventKind.FRIEND_REQUEST_RECEIVED:
        this.notify(`${f.username} wants to be your friend (see Friends).`);
        this.friends.set(f.userId, { ...f, pendingIncoming: true });
        break;
      case FriendEventKind.FRIEND_REQUEST_ACCEPTED:
        this.notify(`${f.username} accepted your friend request.`);
        this.friends.set(f.userId, { ...f, pendingIncoming: false, pendingOutgoing: false });
        break;
      case FriendEventKind.FRIEND_REQUEST_DECLINED:
      case FriendEventKind.FRIEND_REMOVED:
        this.friends.delete(f.userId);
        break;
      case FriendEventKind.FRIEND_STATUS_CHANGED:
        this.friends.set(f.userId, f);
        break;
      default:
        break;
    }
    this.render();
  }

  private button(label: string, target: string, action: FriendAction, cls = ''): HTMLButtonElement {
    const b = el('button', { class: `small ${cls}`, type: 'button' }, label);
    b.addEventListener('click', () => this.send(target, action));
    return b;
  }

  private render(): void {
    const ul = $('friend-list');
    ul.replaceChildren();
    const sorted = [...this.friends.values()].sort((a, b) =>
      Number(b.pendingIncoming) - Number(a.pendingIncoming) || a.username.localeCompare(b.username));
    for (const f of sorted) {
      const li = el('li', { 'data-friend': f.userId }, el('span', { class: 'fname' }, f.username));
      if (f.pendingIncoming) {
        li.append(el('span', { class: 'st' }, 'wants to be friends'),
          this.button('Accept', f.userId, FriendAction.ACCEPT_REQUEST),
          this.button('Decline', f.userId, FriendAction.DECLINE_REQUEST));
      } else if (f.pendingOutgoing) {
        li.append(el('span', { class: 'st' }, 'request sent'),
          this.button('Withdraw', f.userId, FriendAction.DECLINE_REQUEST));
      } else {
        const where = f.roomId ? ` · in ${f.roomId}` : '';
        li.append(el('span', { class: 'st' }, `${STATUS[f.status] ?? ''}${f.statusText ? ` – ${f.statusText}` : ''}${where}`));
        if (f.roomId) {
          const j = el('button', { class: 'small', type: 'button' }, 'Join');
          j.addEventListener('click', () => this.joinRoom(f.roomId));
          li.append(j);
        }
        li.append(this.button('Remove', f.userId, FriendAction.REMOVE_FRIEND, 'danger'));
      }
      ul.append(li);
    }
    $('friends-empty').hidden = sorted.length > 0 || $('friend-form').hidden;
  }
}
