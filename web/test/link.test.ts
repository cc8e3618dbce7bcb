// The linked connection in the page (src/net/link.ts, PROTOCOL.md §16): the Link's life
// (ask, open, attach, fail, back off, ask again, stop) against a socket driven by the
// test; the sealed payload of a link; the indicator's text. The merge of the two sockets'
// events is in stream_merge.test.ts.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import { ClientMessageSchema, ServerCommandType } from '../src/gen/tutti_pb.js';
import { ResumeState } from '../src/net/resume.js';
import { Link, type LinkHost, type LinkSocket } from '../src/net/link.js';
import { linkPayloadFor, payloadFor, sodiumReady } from '../src/net/auth.js';
import { decodeRequest, encodeRequest } from '../src/net/proto.js';
import { linkLabel } from '../src/ui/link_view.js';

type Init = MessageInitShape<typeof ClientMessageSchema>;
const msg = (init: Init) => create(ClientMessageSchema, init);
const chat = (epoch: string, offset: bigint) =>
  msg({ message: { case: 'roomChatMessage', value: { message: `#${offset}` } }, stream: { epoch, offset } });
const joined = (roomId: string, epoch: string, offset: bigint) => msg({ message: { case: 'roomJoinedResponse',
  value: { success: true, roomInfo: { roomId }, streamPosition: { epoch, offset } } } });

// --- the Link's life -------------------------------------------------------------------------

class FakeSocket implements LinkSocket {
  binaryType: BinaryType = 'blob';
  readyState = 1;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  sent: Uint8Array[] = [];
  closed: number | null = null;
  constructor(readonly url: string) {}
  send(d: Uint8Array): void { this.sent.push(d); }
  close(code = 1000): void { this.closed = code; this.readyState = 3; }
  deliver(init: Init): void {
    const b = toBinary(ClientMessageSchema, msg(init));
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  drop(code: number): void { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
}

function harness() {
  const r = new ResumeState();
  r.observe(joined('jam', 'E1', 0n));
  const h = { asked: 0, primaryOpen: true, events: [] as bigint[], sockets: [] as FakeSocket[] };
  const host: LinkHost = {
    ask: () => (h.primaryOpen ? `r${++h.asked}` : ''),
    url: (t) => `ws://x/api/websocket/${t}`,
    observe: (m) => r.observeLink(m),
    event: (m) => h.events.push(m.stream!.offset),
    changed: () => {},
    nowUs: () => 1000,
  };
  const link = new Link(host, (u) => { const s = new FakeSocket(u); h.sockets.push(s); return s; }, () => 0);
  return { r, h, link };
}
const status = (requestId: string, linkToken: string) => msg({ requestId, message: { case: 'linkStatus', value: { linkToken } } });

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

test('the link is asked for, opened with the token, attached, and brings first copies', () => {
  const { r, h, link } = harness();
  link.want(true);
  assert.equal(link.state, 'asking');
  assert.equal(h.asked, 1);
  link.want(true);
  assert.equal(h.asked, 1, 'asked once');
  assert.equal(link.onPrimary(status('other', 'tok')), true, 'a LinkStatus is never the page\'s');
  assert.equal(link.state, 'asking', 'an answer to another request is not ours');
  link.onPrimary(status('r1', 'lk1.tok'));
  assert.equal(link.state, 'opening');
  const s = h.sockets[0];
  assert.equal(s.url, 'ws://x/api/websocket/lk1.tok');
  assert.equal(s.binaryType, 'arraybuffer');
  // Before its LinkStatus nothing it brings is applied.
  s.deliver({ message: { case: 'roomChatMessage', value: {} }, stream: { epoch: 'E1', offset: 1n } });
  assert.deepEqual(h.events, []);
  s.deliver({ message: { case: 'linkStatus', value: { attached: true, sessionId: 5n } } });
  assert.equal(link.state, 'attached');
  assert.equal(decodeRequest(s.sent[0]).message.case, 'heartbeatMessage', 'its own round trip is measured');
  s.deliver({ message: { case: 'roomChatMessage', value: {} }, stream: { epoch: 'E1', offset: 2n } });
  r.observe(chat('E1', 3n));  // the primary was first for 3
  s.deliver({ message: { case: 'roomChatMessage', value: {} }, stream: { epoch: 'E1', offset: 3n } });
  assert.deepEqual(h.events, [2n]);
  assert.deepEqual(link.stats, { attached: 1, events: 2, first: 1, lastOffset: 3n, closes: [] });
  // MIDI copies go out only while attached.
  const frame = encodeRequest({ case: 'midiMessage', value: { sequence: 9n } });
  link.sendCopy(frame);
  assert.equal(s.sent.at(-1), frame);
});

test('a refused, failed or dropped link is asked for again after a backoff; the primary is never touched', () => {
  const { h, link } = harness();
  link.want(true);
  // Refused on the primary (LIMIT_REACHED while an old link lingers): not shown to the page.
  assert.equal(link.onPrimary(msg({ requestId: 'r1', message: { case: 'errorMessage', value: { errorCode: 'LIMIT_REACHED' } } })), true);
  assert.equal(link.state, 'waiting');
  assert.match(link.detail, /LIMIT_REACHED/);
  assert.equal(link.onPrimary(msg({ requestId: 'r1', message: { case: 'errorMessage', value: { errorCode: 'X' } } })), false,
    'another error with that id is the page\'s');
  mock.timers.tick(499);
  assert.equal(h.asked, 1, 'not before the backoff (attempt 0: at least half of 1 s)');
  mock.timers.tick(1);
  assert.equal(h.asked, 2);
  link.onPrimary(status('r2', 't2'));
  // Refused at the attach: ErrorMessage then 4006.
  h.sockets[0].deliver({ message: { case: 'errorMessage', value: { errorCode: 'AUTH_ERROR', errorMessage: 'link token unknown' } } });
  h.sockets[0].drop(4006);
  assert.equal(link.state, 'waiting');
  assert.match(link.detail, /AUTH_ERROR/);
  mock.timers.tick(999);
  assert.equal(h.asked, 2, 'the second failure waits longer');
  mock.timers.tick(1);
  assert.equal(h.asked, 3);
  link.onPrimary(status('r3', 't3'));
  h.sockets[1].deliver({ message: { case: 'linkStatus', value: { attached: true } } });
  // Lost at once: the backoff goes on growing (a link that cannot stay is not hammered).
  h.sockets[1].drop(1006);
  assert.equal(link.attempt, 3);
  mock.timers.tick(2000);
  assert.equal(h.asked, 4);
  link.onPrimary(status('r4', 't4'));
  h.sockets[2].deliver({ message: { case: 'linkStatus', value: { attached: true } } });
  mock.timers.tick(10000);
  // The server ends the link (4007) while the primary is still there: linked again, and
  // after 10 s attached the backoff starts over.
  h.sockets[2].drop(4007);
  assert.equal(link.state, 'waiting');
  assert.equal(link.attempt, 1);
  assert.deepEqual(link.stats.closes, [4006, 1006, 4007]);
  // The primary is down when the retry comes: nothing asked, the next want() asks.
  h.primaryOpen = false;
  mock.timers.tick(500);
  assert.equal(link.state, 'idle');
  h.primaryOpen = true;
  link.want(true);
  assert.equal(link.state, 'asking');
  assert.equal(h.asked, 5);
});

test('not wanted or turned off: the link closes and nothing is retried', () => {
  const { h, link } = harness();
  link.want(true);
  link.onPrimary(status('r1', 't'));
  h.sockets[0].deliver({ message: { case: 'linkStatus', value: { attached: true } } });
  link.want(false);
  assert.equal(h.sockets[0].closed, 1000);
  assert.equal(link.state, 'idle');
  h.sockets[0].drop(1000);  // its close event comes later: ignored
  mock.timers.tick(60000);
  assert.equal(h.asked, 1);
  link.setEnabled(false);
  assert.equal(link.state, 'off');
  link.want(true);
  assert.equal(h.asked, 1, 'off: never asked');
  link.setEnabled(true);
  assert.equal(h.asked, 2, 'on again while wanted: asked at once');
  link.sendCopy(encodeRequest({ case: 'midiMessage', value: {} }));
  assert.equal(h.sockets.length, 1, 'no copy without an attached link');
});

test('a link payload is a fresh identity payload with the link token and no resume keys', async () => {
  await sodiumReady();
  const p = linkPayloadFor({ name: 'Ann' }, 1000, 'lk1.abc');
  const q = payloadFor({ name: 'Ann' }, 1000, null);
  assert.equal(p.link_token, 'lk1.abc');
  assert.equal(p.username, 'Ann');
  assert.equal(p.resume_token, undefined);
  assert.notEqual(p.socket_id, q.socket_id, 'a fresh socket id');
  assert.equal(ServerCommandType.LINK, 18);
});

test('the indicator: two paths with the link\'s round trip, one path otherwise with the reason', () => {
  const base = { rttUs: null, detail: '', attempt: 0, nextRetryAt: 0 };
  assert.equal(linkLabel({ ...base, state: 'attached', rttUs: 2345 }).text, '2 paths 2.3 ms');
  assert.equal(linkLabel({ ...base, state: 'attached' }).cls, 'on');
  assert.equal(linkLabel({ ...base, state: 'off' }).cls, 'off');
  const w = linkLabel({ ...base, state: 'waiting', detail: 'refused', nextRetryAt: 5000 }, 1000);
  assert.equal(w.text, '1 path');
  assert.match(w.title, /refused.*4 s/);
});
