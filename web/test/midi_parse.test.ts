// MIDI parsing: what the player splits a relayed batch into, and what the Web MIDI
// input forwards (channel messages only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { HeldNotesSnapshotSchema } from '../src/gen/tutti_pb.js';
import { parseChannelMessages, snapshotControllerEvents } from '../src/audio/player.js';
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

test('a held-notes snapshot becomes program, bend, mod wheel and pedals-down messages', () => {
  const s = create(HeldNotesSnapshotSchema, {
    userId: 'u', sessionId: 7n, sustainChannels: 0b1, sostenutoChannels: 0b10, softChannels: 1 << 15,
    controllers: [
      { channel: 0, hasProgram: true, program: 19, pitchBend: 8192, modWheel: 0 },
      { channel: 1, hasProgram: false, program: 0, pitchBend: 0x3fff, modWheel: 40 },
    ],
  });
  assert.deepEqual(snapshotControllerEvents(s).map((e) => [e.status, e.d1, e.d2]), [
    [0xc0, 19, 0],                   // organ on channel 1; bend at centre is not sent
    [0xe1, 0x7f, 0x7f], [0xb1, 1, 40],
    [0xb0, 64, 127], [0xb1, 66, 127], [0xbf, 67, 127],
  ]);
  assert.equal(snapshotControllerEvents(create(HeldNotesSnapshotSchema, {})).length, 0);
});
