// The connect payload (docs/AUTH.md "The connect URL"): JSON sealed in the browser with
// libsodium's crypto_box_seal to the key the server publishes at /api/server-info, in
// base64url without padding, as the last path segment of the WebSocket URL. A fresh
// payload (new socket_id and ts) is built for every attempt, reconnects included.
import sodium from 'libsodium-wrappers';
import type { ResumeFields } from './resume.js';

export interface ServerInfo {
  version: string;
  guestsAllowed: boolean;
  sealPublicKey: Uint8Array;  // X25519, 32 bytes
  wsPath: string;             // e.g. "/api/websocket/"
  limits: Record<string, unknown>;
}

export interface Identity {
  name: string;    // guests: the display name asked for
  token?: string;  // members: a JWT from the site's issuer
}

const B64URL = () => sodium.base64_variants.URLSAFE_NO_PADDING;

export async function sodiumReady(): Promise<void> {
  await sodium.ready;
}

function pick(o: Record<string, unknown>, ...keys: string[]): unknown {
  for (const k of keys) if (o[k] !== undefined) return o[k];
  return undefined;
}

// Reads /api/server-info's JSON. Field names are read in snake_case or camelCase; a
// missing or malformed key is an error the page shows, never a silent guest.
export function parseServerInfo(json: unknown): ServerInfo {
  if (typeof json !== 'object' || json === null) throw new Error('server-info: not an object');
  const o = json as Record<string, unknown>;
  const key = pick(o, 'seal_public_key', 'sealPublicKey', 'public_key', 'publicKey');
  if (typeof key !== 'string') throw new Error('server-info: no sealed-box public key');
  let bytes: Uint8Array;
  try {
    bytes = sodium.from_base64(key.replace(/=+$/, ''), B64URL());
  } catch {
    throw new Error('server-info: public key is not base64url');
  }
  if (bytes.length !== sodium.crypto_box_PUBLICKEYBYTES) {
    throw new Error(`server-info: public key has ${bytes.length} bytes, expected 32`);
  }
  let wsPath = pick(o, 'ws_path', 'wsPath', 'websocket_path', 'websocketPath', 'ws_prefix');
  if (typeof wsPath !== 'string' || !wsPath.startsWith('/')) wsPath = '/api/websocket/';
  if (!(wsPath as string).endsWith('/')) wsPath += '/';
  const guests = pick(o, 'guests_allowed', 'guestsAllowed', 'allow_guests', 'allowGuests');
  const limits = pick(o, 'limits');
  return {
    version: String(pick(o, 'version', 'server_version') ?? ''),
    guestsAllowed: guests === undefined ? true : guests === true,
    sealPublicKey: bytes,
    wsPath: wsPath as string,
    limits: typeof limits === 'object' && limits !== null ? (limits as Record<string, unknown>) : {},
  };
}

// The claims of a JWT, read without verifying (the server verifies): the payload must
// carry `uuid` = the token's `sub`.
export function tokenClaims(token: string): { sub: string; name?: string; exp?: number } {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('token: not a JWT (header.payload.signature)');
  let claims: unknown;
  try {
    claims = JSON.parse(sodium.to_string(sodium.from_base64(parts[1].replace(/=+$/, ''), B64URL())));
  } catch {
    throw new Error('token: payload is not base64url JSON');
  }
  const c = claims as { sub?: unknown; name?: unknown; exp?: unknown };
  if (typeof c.sub !== 'string' || c.sub === '') throw new Error('token: no sub claim');
  return {
    sub: c.sub,
    name: typeof c.name === 'string' ? c.name : undefined,
    exp: typeof c.exp === 'number' ? c.exp : undefined,
  };
}

// The JSON the sealed box holds (AUTH.md "The payload"), with the resume keys when the
// page asks to resume its session (PROTOCOL.md §12).
export function payloadFor(id: Identity, nowMs: number, resume: ResumeFields | null = null): Record<string, unknown> {
  return { ...identityPayload(id, nowMs), ...(resume ?? {}) };
}

// A linked connection's payload (PROTOCOL.md §16): a fresh identity payload (new
// socket_id and ts, the current token for a member) and the LinkStatus's token; never
// resume keys, which the server refuses together with a link token.
export function linkPayloadFor(id: Identity, nowMs: number, linkToken: string): Record<string, unknown> {
  return { ...identityPayload(id, nowMs), link_token: linkToken };
}

function identityPayload(id: Identity, nowMs: number): Record<string, unknown> {
  const socketId = sodium.to_base64(sodium.randombytes_buf(16), B64URL());
  if (id.token) {
    const { sub, exp } = tokenClaims(id.token);
    // The server would refuse it (401) and a browser cannot read why: say it here. The
    // server allows 30 s of skew, so only a token clearly past its time is refused.
    if (exp !== undefined && exp * 1000 + 30000 < nowMs) {
      throw new Error('token: expired; get a new one from your site');
    }
    return { socket_id: socketId, ts: nowMs, token: id.token, uuid: sub, is_member: true };
  }
  return { socket_id: socketId, ts: nowMs, token: '', username: id.name };
}

export function sealPayload(payload: Record<string, unknown>, publicKey: Uint8Array): string {
  const sealed = sodium.crypto_box_seal(sodium.from_string(JSON.stringify(payload)), publicKey);
  return sodium.to_base64(sealed, B64URL());
}

// ws(s)://host/api/websocket/<sealed payload> for the page's own origin (or `wsOrigin`).
export function connectUrl(info: ServerInfo, id: Identity, wsOrigin: string, nowMs = Date.now(),
                           resume: ResumeFields | null = null): string {
  return `${wsOrigin}${info.wsPath}${sealPayload(payloadFor(id, nowMs, resume), info.sealPublicKey)}`;
}

// The URL of a linked connection, sealed the same way as the primary's.
export function linkUrl(info: ServerInfo, id: Identity, wsOrigin: string, linkToken: string,
                        nowMs = Date.now()): string {
  return `${wsOrigin}${info.wsPath}${sealPayload(linkPayloadFor(id, nowMs, linkToken), info.sealPublicKey)}`;
}

export function wsOriginOf(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
}
