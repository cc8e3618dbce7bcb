// MIDI parsing: what the player splits a relayed batch into, and what the Web MIDI
// input forwards (channel messages only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChannelMessages } from '../src/audio/player.js';
import { channelMessages } from '../src/input/webmidi.js';

test('channel messages split without running status; system bytes stop it', () => {
  const ev = parseChannelMessages(new Uint8Array([0x90, 60, 100, 0xc0, 5, 0xe0, 0, 64, 0x80, 60, 0]));
  assert.deepEqual(ev.map((e) => e.status), [0x90, 0xc0, 0xe0, 0x80]);
  assert.equal(ev[1].d1, 5);
  assert.equal(parseChannelMessages(new Uint8Array([0x90, 60])).length, 0);
  const web = channelMessages(new Uint8Array([0xb0, 64, 127]));
  assert.deepEqual(web.map((m) => [...m]), [[0xb0, 64, 127]]);
  assert.equal(channelMessages(new Uint8Array([0xf8])).length, 0);  // clock: not relayed
  assert.equal(channelMessages(new Uint8Array([0xf0, 1, 2, 0xf7])).length, 0);
});
