#!/usr/bin/env node
// permessage-deflate before and after, in one session (docs/PERFORMANCE.md, "Compression"):
// the same workload against two fresh servers, one with `compression = false`, one with
// it on; CLIENTS connections offer permessage-deflate (Node's ws) to both. Two phases:
//   join: a room has a 50-line chat history (the server's default history); each client
//         alternates CYCLES times between it and a small room, so each cycle is one
//         RoomJoinedResponse with the whole history, one small one, and the arrival and
//         departure notices the others get.
//   list: ROOMS rooms exist (each kept by a host that does not offer the extension);
//         each client asks for the room list CYCLES times.
// Reported per server and phase: bytes the clients read from their sockets, the
// server's CPU time (/proc/PID/stat, user + system) over the phase, and the clients'
// CPU time (their inflate included).
//
//   node bench/compress_join.mjs --server build/server/tutti-server \
//        --token build/tools/token/tutti-token [--clients 20] [--cycles 50] [--rooms 100] \
//        [--repeat 1]
//
// With --repeat N the pair runs N times, alternating which goes first (off, on; on, off;
// ...), and the medians per operation are printed last.
//
// Only 127.0.0.1; every wait is bounded; the servers it started are the only processes
// it stops.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { Peer } from '../tests/interop/harness.mjs';
import { ServerProcess } from '../tests/testing/node_harness.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const MODULES = resolve(HERE, '../tests/interop/node_modules');
const { default: WebSocket } = await import(pathToFileURL(join(MODULES, 'ws/index.js')));
const { default: protobuf } = await import(pathToFileURL(join(MODULES, 'protobufjs/index.js')));

const args = { server: null, token: null, clients: 20, cycles: 50, rooms: 100, repeat: 1 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--server') args.server = process.argv[++i];
  else if (a === '--token') args.token = process.argv[++i];
  else if (a === '--clients') args.clients = Number(process.argv[++i]);
  else if (a === '--cycles') args.cycles = Number(process.argv[++i]);
  else if (a === '--rooms') args.rooms = Number(process.argv[++i]);
  else if (a === '--repeat') args.repeat = Number(process.argv[++i]);
  else throw new Error(`unknown argument ${a}`);
}
const root = await new protobuf.Root().load(resolve(HERE, '../protos/tutti.proto'), { keepCase: true });
const SM = root.lookupType('tutti.proto.ServerMessage');
const CM = root.lookupType('tutti.proto.ClientMessage');
const TICK_S = 1 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_S;  // utime + stime
}

// The clients: the interop tests' Peer, raw (no toObject, what came before a match dropped).
const newPeer = (url, deflate) => new Peer({ WebSocket, ServerMessage: SM, ClientMessage: CM }, url,
                                           { perMessageDeflate: deflate }, { raw: true });

async function measure(compression) {
  const tmp = mkdtempSync(join(tmpdir(), 'tutti-compress-bench-'));
  writeFileSync(join(tmp, 'tutti.toml'), [
    'chat_per_second = 1000.0', 'chat_burst = 1000.0', 'joins_per_second = 100000.0',
    'join_burst = 100000.0', 'leaves_per_second = 100000.0', 'leave_burst = 100000.0',
    'requests_per_second = 100000.0', 'request_burst = 100000.0',
    'upgrades_per_second_per_address = 100000.0', 'upgrade_burst_per_address = 100000',
    `compression = ${compression}`, ''].join('\n'));
  const keys = join(tmp, 'keys');
  const server = new ServerProcess(args.server, ['--dev', '--drain-grace-s=0', '--port', '0',
                                                 '--shards', '1', '--admin-listen', '',
                                                 '--keys', keys, '--data', join(tmp, 'data'),
                                                 '--config', join(tmp, 'tutti.toml')]);
  try {
    const { port } = await server.start();
    const mint = (name) => execFileSync(args.token, ['--keys', keys, '--user-id', `u-${name}`,
        '--name', name, '--member', '--port', String(port)], { encoding: 'utf8' }).trim();
    const open = async (name, deflate) => {
      const p = newPeer(mint(name), deflate);
      await p.waitCase('welcome', `${name}'s welcome`);
      return p;
    };
    const owner = await open('owner', false);
    owner.send({ create_room_command: { room_name: 'History', room_type: 'PUBLIC' } });
    await owner.waitCase('room_joined_response', 'room_joined_response');
    for (let i = 0; i < 50; i++) {
      owner.send({ room_chat_message: { message:
          `line ${i}: let us take the bridge slower, in D minor, and keep the left hand light` } });
    }
    await owner.waitCase('room_chat_message', 'the last chat line',
                         (m) => m.message.startsWith('line 49:'));
    const host = await open('host', false);
    host.send({ create_room_command: { room_name: 'Side', room_type: 'PUBLIC' } });
    await host.waitCase('room_joined_response', 'room_joined_response');
    const peers = [];
    for (let i = 0; i < args.clients; i++) peers.push(await open(`p${i}`, true));
    const negotiated = peers[0].ws.extensions === 'permessage-deflate';

    // One phase: its bytes read by the peers, the server's and this process's CPU time.
    const phase = async (name, work) => {
      const bytes0 = peers.reduce((s, p) => s + p.bytesRead(), 0);
      const server0 = cpuSeconds(server.pid);
      const client0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(peers.map(work));
      const clientCpu = process.cpuUsage(client0);
      return { name, compression, negotiated, ops: args.clients * args.cycles,
               bytes: peers.reduce((s, p) => s + p.bytesRead(), 0) - bytes0,
               serverCpu: cpuSeconds(server.pid) - server0,
               clientCpu: (clientCpu.user + clientCpu.system) / 1e6,
               wall: (performance.now() - t0) / 1000 };
    };
    const join = await phase('join', async (p) => {
      for (let c = 0; c < args.cycles; c++) {
        p.send({ join_room_by_name: { room_name: 'history' } });
        const r = await p.waitCase('room_joined_response', 'room_joined_response');
        if (r.chat_history.length !== 50) throw new Error(`history of ${r.chat_history.length}`);
        p.send({ join_room_by_name: { room_name: 'side' } });
        await p.waitCase('room_joined_response', 'room_joined_response');
      }
    });
    const hosts = [];
    for (let i = 0; i < args.rooms; i++) {
      const h = await open(`host${i}`, false);
      h.send({ create_room_command: { room_name: `Room ${i} of the evening session`,
                                      room_type: 'PUBLIC' } });
      await h.waitCase('room_joined_response', 'room_joined_response');
      hosts.push(h);
    }
    const list = await phase('list', async (p) => {
      for (let c = 0; c < args.cycles; c++) {
        p.send({ get_room_list: {} });
        const l = await p.waitCase('room_list', 'room_list');
        if (l.rooms.length < args.rooms) throw new Error(`a list of ${l.rooms.length} rooms`);
      }
    });
    for (const p of [...peers, ...hosts, owner, host]) p.ws.terminate();
    return [join, list];
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const results = [];
for (let r = 0; r < args.repeat; r++) {
  for (const compression of r % 2 === 0 ? [false, true] : [true, false]) {
    for (const x of await measure(compression)) {
      results.push(x);
      console.log(`run ${r + 1} ${x.name} compression=${x.compression} negotiated=${x.negotiated} ` +
                  `ops=${x.ops}: ${(x.bytes / 1024).toFixed(0)} KiB read ` +
                  `(${(x.bytes / x.ops).toFixed(0)} B per op), server CPU ${x.serverCpu.toFixed(2)} s ` +
                  `(${(x.serverCpu / x.ops * 1e6).toFixed(0)} us per op), ` +
                  `client CPU ${x.clientCpu.toFixed(2)} s, wall ${x.wall.toFixed(1)} s`);
    }
  }
}
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
for (const name of ['join', 'list']) {
  const of = (c) => results.filter((r) => r.name === name && r.compression === c);
  const fig = (c) => ({
    bytes: median(of(c).map((r) => r.bytes / r.ops)),
    server: median(of(c).map((r) => r.serverCpu / r.ops * 1e6)),
    client: median(of(c).map((r) => r.clientCpu / r.ops * 1e6)),
  });
  const off = fig(false);
  const on = fig(true);
  console.log(`${name} medians of ${args.repeat}: bytes per op ${off.bytes.toFixed(0)} -> ` +
              `${on.bytes.toFixed(0)} (x${(on.bytes / off.bytes).toFixed(3)}), server CPU us per op ` +
              `${off.server.toFixed(0)} -> ${on.server.toFixed(0)}, client CPU us per op ` +
              `${off.client.toFixed(0)} -> ${on.client.toFixed(0)}`);
}
process.exit(0);
