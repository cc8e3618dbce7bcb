// The lobby screen's panels: the room list and the create-room form. Rendering and form
// reading only; the App sends the requests and owns the state. Main thread only.
import { create } from '@bufbuild/protobuf';
import { type RoomInfo, type RoomSettings, RoomSettingsSchema, type RoomType } from '../gen/tutti_pb.js';
import { $, $in, $sel, el } from './dom.js';

// One button per room; `pick` joins it (asking the password of a locked one).
export function renderRoomList(rooms: RoomInfo[], pick: (name: string, password: string) => void): void {
  const ul = $('room-list');
  ul.replaceChildren();
  for (const r of rooms) {
    const b = el('button', { 'data-room': r.roomName },
      el('span', {}, `${r.roomName}${r.hasPassword ? ' 🔒' : ''}`),
      el('span', { class: 'muted' }, `${r.userCount}${r.settings?.maxUsers ? `/${r.settings.maxUsers}` : ''} playing`));
    b.addEventListener('click', () => pick(r.roomName, r.hasPassword ? prompt(`Password for ${r.roomName}`) ?? '' : ''));
    ul.append(el('li', {}, b));
  }
  $('room-list-empty').hidden = rooms.length > 0;
}

// The create-room form as a CreateRoomCommand's fields (every RoomSettings field is on it).
export function readCreateForm(): { roomName: string; password: string; roomType: RoomType; settings: RoomSettings } {
  const settings = create(RoomSettingsSchema, {
    maxUsers: Number($in('create-max').value) || 0,
    allowChat: $in('create-chat').checked,
    allowGuests: $in('create-guests').checked,
    autoModeration: $in('create-automod').checked,
    requirePro: $in('create-pro').checked,
    persistent: $in('create-persistent').checked,
    welcomeMessage: $in('create-welcome').value,
  });
  return { roomName: $in('create-name').value.trim(), password: $in('create-password').value,
           roomType: Number($sel('create-type').value) as RoomType, settings };
}
