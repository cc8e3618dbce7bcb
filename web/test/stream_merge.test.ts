// The merge of the room events that come on two sockets when the page has a linked
// connection (PROTOCOL.md §16): ResumeState.observe (the first connection) and observeLink
// (the link) apply the first copy of each (epoch, offset) exactly once, and the first
// copies come in order; a link's event the page cannot place yet is left to the first
// connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ClientMessageSchema, ResumeOutcome } from '../src/gen/tutti_pb.js';
import { DEDUPE_WINDOW, type MessageKind, ResumeState } from '../src/net/resume.js';

type Init = MessageInitShape<typeof ClientMessageSchema>;
const msg = (init: Init) => create(ClientMessageSchema, init);
const chat = (epoch: string, offset: bigint) =>
  msg({ message: { case: 'roomChatMessage', value: { message: `#${offset}` } }, stream: { epoch, offset } });
const joined = (roomId: string, epoch: string, offset: bigint) => msg({ message: { case: 'roomJoinedResponse',
  value: { success: true, roomInfo: { roomId }, streamPosition: { epoch, offset } } } });

// A page's merge: what it applies, in the order it applies it.
class Page {
  r = new ResumeState();
  applied: bigint[] = [];
  primary(m: ReturnType<typeof chat>): MessageKind {
    const k = this.r.observe(m);
    if (k !== 'duplicate' && m.stream) this.applied.push(m.stream.offset);
    return k;
  }
  link(m: ReturnType<typeof chat>): MessageKind {
    const k = this.r.observeLink(m);
    if (k !== 'duplicate' && m.stream) this.applied.push(m.stream.offset);
    return k;
  }
}

test('a stalled primary: the link brings the events first, the primary\'s copies are dropped', () => {
  const p = new Page();
  p.primary(joined('jam', 'E1', 3n));
  assert.equal(p.primary(chat('E1', 4n)), 'live');
  assert.equal(p.link(chat('E1', 4n)), 'duplicate');
  // The primary stalls; the link goes on.
  assert.equal(p.link(chat('E1', 5n)), 'live');
  assert.equal(p.link(chat('E1', 6n)), 'live');
  // The retransmission comes: all copies.
  for (const o of [5n, 6n]) assert.equal(p.primary(chat('E1', o)), 'duplicate');
  assert.equal(p.primary(chat('E1', 7n)), 'live');
  assert.equal(p.link(chat('E1', 7n)), 'duplicate');
  assert.deepEqual(p.applied, [4n, 5n, 6n, 7n]);
  assert.equal(p.r.fields(), null, 'no resume token was given');
  assert.equal(p.r.offset, 7n, 'the position is the highest processed, whichever socket brought it');
});

test('an event the link skipped (its backpressure) is applied from the primary, once', () => {
  const p = new Page();
  p.primary(joined('jam', 'E1', 0n));
  assert.equal(p.link(chat('E1', 1n)), 'live');
  assert.equal(p.link(chat('E1', 3n)), 'live');  // 2 was not sent on the link
  assert.equal(p.primary(chat('E1', 1n)), 'duplicate');
  assert.equal(p.primary(chat('E1', 2n)), 'live', 'below the highest, but never applied');
  assert.equal(p.primary(chat('E1', 3n)), 'duplicate');
  assert.equal(p.link(chat('E1', 2n)), 'duplicate');
  assert.deepEqual(p.applied, [1n, 3n, 2n]);
});

test('the link\'s events wait for the room\'s position: before the join\'s answer, they are the primary\'s', () => {
  const p = new Page();
  // Not in a room yet: the link's copy cannot be placed.
  assert.equal(p.link(chat('E1', 8n)), 'duplicate');
  p.primary(joined('jam', 'E1', 7n));
  assert.equal(p.primary(chat('E1', 8n)), 'live', 'the primary\'s copy applies in its turn');
  // Switching rooms: the new room's events on the link before its answer on the primary.
  assert.equal(p.link(chat('E2', 1n)), 'duplicate');
  p.primary(joined('solo', 'E2', 0n));
  assert.equal(p.primary(chat('E2', 1n)), 'live');
  // A late copy of the old room's event on the link is not the new room's.
  assert.equal(p.link(chat('E1', 9n)), 'duplicate');
  assert.equal(p.r.epoch, 'E2');
  // Left: nothing of the link's is applied.
  p.primary(msg({ message: { case: 'roomLeft', value: { roomId: 'solo', reason: 'left' } } }));
  assert.equal(p.link(chat('E2', 2n)), 'duplicate');
  assert.deepEqual(p.applied, [8n, 1n]);
});

test('a snapshot restarts the merge at its position; far below the highest counts as processed', () => {
  const p = new Page();
  p.primary(joined('jam', 'E1', 0n));
  // The link skips 7 and 20 (its backpressure) and runs far ahead.
  for (let o = 1n; o <= DEDUPE_WINDOW + 10n; o++) if (o !== 7n && o !== 20n) p.link(chat('E1', o));
  assert.equal(p.primary(chat('E1', 5n)), 'duplicate');
  assert.equal(p.primary(chat('E1', 7n)), 'duplicate', 'more than the window below the highest: taken as done');
  assert.equal(p.primary(chat('E1', 20n)), 'live', 'within the window and never applied');
  assert.equal(p.primary(chat('E1', 20n)), 'duplicate');
  p.primary(msg({ message: { case: 'roomSnapshot', value: { roomInfo: { roomId: 'jam' },
    streamPosition: { epoch: 'E3', offset: 40n } } } }));
  assert.equal(p.link(chat('E3', 40n)), 'duplicate');
  assert.equal(p.link(chat('E3', 41n)), 'live');
  assert.equal(p.primary(chat('E3', 41n)), 'duplicate');
});

test('link copies do not use up a resume\'s replay count', () => {
  const p = new Page();
  p.primary(joined('jam', 'E1', 3n));
  p.primary(msg({ message: { case: 'resumeResult', value: { outcome: ResumeOutcome.RESUME_RECOVERED, roomId: 'jam', replayed: 2 } } }));
  assert.equal(p.link(chat('E1', 6n)), 'live');  // a live event, ahead of the replay
  assert.equal(p.primary(chat('E1', 4n)), 'replayed');
  assert.equal(p.primary(chat('E1', 5n)), 'replayed');
  assert.equal(p.primary(chat('E1', 6n)), 'duplicate');
  assert.equal(p.primary(chat('E1', 7n)), 'live');
});

test('any interleaving of two in-order sockets applies every event once, in order', () => {
  // A seeded generator: the same cases every run.
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let round = 0; round < 200; round++) {
    const p = new Page();
    p.primary(joined('jam', 'E1', 0n));
    // The page's own events are in neither socket's copy (a sender does not get its own).
    const events: bigint[] = [];
    for (let o = 1n; o <= 60n; o++) if (rnd() > 0.2) events.push(o);
    const a = [...events];
    const b = [...events];
    while (a.length || b.length) {
      const fromA = b.length === 0 || (a.length > 0 && rnd() < 0.5);
      const o = (fromA ? a : b).shift()!;
      if (fromA) p.primary(chat('E1', o)); else p.link(chat('E1', o));
    }
    assert.deepEqual(p.applied, events, `round ${round}`);
  }
});
