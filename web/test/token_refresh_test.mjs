#!/usr/bin/env node
// A member page follows its token without reconnecting (docs/WEB.md, "Keeping a member
// signed in"), in real Chromium against the built tutti-server (its default 30 s leeway
// and 60 s notice, so a token of a few seconds is noticed at once and closed about 30 s
// after its exp):
//   - Rita's page has a site provider (window.tuttiTokenProvider) that mints fresh
//     tokens, the later ones with the moderator role: she refreshes on her own, her own
//     entry in the room shows the new role, and she is still in the same session after
//     Nina (whose token outlives Rita's first one) has been closed for expiry.
//   - Nina's page has no source: it shows the expiry notice with a paste field, and on
//     the server's 4004 says "session expired: sign in again" and stops retrying.
//   - Milo's page has no source either: a token with a broken signature pasted into the
//     notice is refused by the server (the notice says why), a good one keeps him on,
//     and a new #token= fragment for him refreshes rather than reconnects.
// Every wait is for a condition with a bounded deadline; nothing asserts how long
// anything took.
//   node token_refresh_test.mjs --server PATH --token PATH [--dist DIR] [--artifacts DIR] [--verbose]
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckFailed, check, main } from './harness.mjs';

const STEP_MS = 20000;    // bounds a hang in an ordinary step
const EXPIRY_MS = 90000;  // bounds the wait for the server's close (exp + 30 s leeway)

await main('web-token-refresh', async (env) => {
  const args = env.args;
  check(args.token, '--token PATH/TO/tutti-token is required');
  const shots = args.artifacts ?? join(env.tmp, 'shots');
  mkdirSync(shots, { recursive: true });
  await env.detectWebRoot();
  const port = await env.startServer(0);
  await env.startPageServer();
  const browser = await env.launch();
  const mint = (id, name, ttl, roles = '') => JSON.parse(execFileSync(args.token,
    ['--keys', env.keys, '--user-id', id, '--name', name, '--member', '--port', String(port), '--json',
     '--ttl', String(ttl), ...(roles ? ['--roles', roles] : [])], { encoding: 'utf8' })).token;

  const pages = [];
  async function open(label) {
    const p = await browser.newPage();
    p.label = label;
    p.errors = [];
    p.on('pageerror', (e) => p.errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) p.errors.push(m.text());
      env.log(`${label} console: ${m.text()}`);
    });
    pages.push(p);
    return p;
  }
  const wait = (p, fn, arg, what, ms = STEP_MS) => p.waitForFunction(fn, arg, { timeout: ms, polling: 100 }).catch(async (e) => {
    const seen = await p.evaluate(() => ({
      screen: ['connect', 'lobby', 'room'].find((n) => !document.getElementById(`screen-${n}`).hidden),
      status: document.getElementById('status-text').textContent,
      notice: document.getElementById('token-notice').hidden ? '' : document.getElementById('token-notice-text').textContent,
      connectError: document.getElementById('connect-error').textContent,
      refreshes: window.tutti?.tokens.refreshes, welcomes: window.tutti?.tokens.welcomes,
    })).catch(() => ({}));
    throw new CheckFailed(`${p.label}: timed out waiting for ${what} (${e.message.split('\n')[0]}); page shows ${JSON.stringify(seen)}`);
  });
  const shot = async (p, name) => { await p.screenshot({ path: join(shots, name) }); env.log(`screenshot ${name}`); };

  // --- Rita: a site provider. Her first token is the shortest of all. ------------------
  const r = await open('rita');
  let minted = 0;
  await r.exposeFunction('__mintForTest', () => { minted++; return mint('u-rita', 'Rita', 2, 'moderator'); });
  await r.addInitScript(() => { window.tuttiTokenProvider = () => window.__mintForTest(); });
  await r.goto(env.pageUrl(`#token=${mint('u-rita', 'Rita', 2)}`));
  await wait(r, () => !document.getElementById('screen-lobby').hidden, null, 'Rita in the lobby');
  const first = await r.evaluate(() => ({ session: String(window.tutti.me.sessionId), closeAt: window.tutti.tokens.closeAtMs }));
  check(first.closeAt > 0, `a member's Welcome carries when the session will be closed (${first.closeAt})`);
  await r.fill('#create-name', 'Fresh');
  await r.click('#create-form button[type=submit]');
  await wait(r, () => !document.getElementById('screen-room').hidden, null, 'Rita in her room');
  check(await r.evaluate(() => window.tutti.tokens.refreshes > 0 || !/staff/.test(document.getElementById('user-list').textContent)),
        'no staff badge before the refresh');

  // --- Nina: no source; her token's exp is later than Rita's first one. ---------------
  const n = await open('nina');
  await n.goto(env.pageUrl(`#token=${mint('u-nina', 'Nina', 3)}`));
  await wait(n, () => !document.getElementById('screen-lobby').hidden, null, 'Nina in the lobby');
  await wait(n, () => !document.getElementById('token-notice').hidden &&
                      /runs out at .*no token source.*Paste a new token/.test(document.getElementById('token-notice-text').textContent),
             null, 'Nina told her sign-in runs out, with a field to paste a token');
  check(await n.evaluate(() => !document.getElementById('token-new').closest('[hidden]')), 'the paste field is shown');
  await shot(n, 'token-notice.png');

  // --- Milo: no source; pastes a broken token, then a good one. ------------------------
  const m = await open('milo');
  await m.goto(env.pageUrl(`#token=${mint('u-milo', 'Milo', 2)}`));
  await wait(m, () => !document.getElementById('token-notice').hidden, null, 'Milo\'s notice');
  const good = mint('u-milo', 'Milo', 3600);
  // One character in the middle of the signature changed: still base64url, wrong bytes.
  const at = good.lastIndexOf('.') + 10;
  const broken = good.slice(0, at) + (good[at] === 'A' ? 'B' : 'A') + good.slice(at + 1);
  await m.fill('#token-new', mint('u-other', 'Other', 3600));
  await m.click('#token-form button[type=submit]');
  await wait(m, () => /another user/.test(document.getElementById('token-notice-text').textContent), null,
             'a token for another user refused on the page');
  await m.fill('#token-new', broken);
  await m.click('#token-form button[type=submit]');
  await wait(m, () => /refused \(bad_signature\)/.test(document.getElementById('token-notice-text').textContent), null,
             'the server\'s refusal of a forged token shown with its reason');
  await m.fill('#token-new', good);
  await m.click('#token-form button[type=submit]');
  await wait(m, () => document.getElementById('token-notice').hidden && window.tutti.tokens.refreshes === 1, null,
             'the pasted token accepted, the notice gone');
  const miloClose = await m.evaluate(() => window.tutti.tokens.closeAtMs);
  check(miloClose > Date.now() + 3000 * 1000, `Milo's session now lasts as long as the pasted token (${miloClose})`);
  // A new #token= fragment for the member already on refreshes too, without reconnecting.
  await m.evaluate((t) => { location.hash = `#token=${t}`; }, mint('u-milo', 'Milo', 7200));
  await wait(m, () => window.tutti.tokens.refreshes === 2, null, 'the fragment\'s token used as a refresh');
  check(await m.evaluate(() => window.tutti.tokens.welcomes === 1 && !location.hash.includes('token')),
        'no reconnect for a fresh fragment token, and it leaves the address bar');
  console.log('web-token-refresh: ok - the notice, a refused paste with its reason, an accepted paste, a fragment refresh');

  // --- Rita refreshed on her own; her role is shown ------------------------------------
  await wait(r, () => window.tutti.tokens.refreshes >= 1, null, 'Rita\'s first refresh', EXPIRY_MS);
  await wait(r, () => [...document.querySelectorAll('#user-list li')].some((li) => li.dataset.user === 'u-rita' && /staff/.test(li.textContent)),
             null, 'Rita\'s new server role shown in the people list');
  check(await r.evaluate(() => document.getElementById('token-notice').hidden), 'no notice for a page whose source answers');
  check(minted >= 1, 'the page asked the site provider');

  // --- Nina is closed for expiry, and says so ---------------------------------------------
  await wait(n, () => !document.getElementById('screen-connect').hidden &&
                      document.getElementById('connect-error').textContent === 'session expired: sign in again',
             null, 'Nina told her session expired', EXPIRY_MS);
  check(await n.evaluate(() => document.getElementById('status-dot').className === 'dot closed' &&
                               document.getElementById('retry').hidden && window.tutti.tokens.welcomes === 1),
        'Nina\'s page stops: no reconnect with a dead token');
  await shot(n, 'token-expired.png');

  // --- Rita, whose first token ran out before Nina's, is still in the same session -------
  await r.fill('#chat-input', 'still here');
  await r.press('#chat-input', 'Enter');
  await wait(r, () => document.getElementById('chat-log').textContent.includes('still here'), null, 'Rita\'s chat answered');
  const after = await r.evaluate(() => ({
    session: String(window.tutti.me.sessionId), closeAt: window.tutti.tokens.closeAtMs,
    welcomes: window.tutti.tokens.welcomes, open: window.tutti.conn.isOpen,
    room: document.getElementById('room-title').textContent,
  }));
  check(after.open && after.welcomes === 1 && after.session === first.session && after.room === 'Fresh',
        `Rita stays in the same session past her first token's expiry: ${JSON.stringify(after)} vs ${JSON.stringify(first)}`);
  check(after.closeAt > first.closeAt, 'her session now closes later');
  check(await m.evaluate(() => window.tutti.conn.isOpen && window.tutti.tokens.welcomes === 1), 'Milo too is still on');
  console.log('web-token-refresh: ok - a page with a provider refreshes past expiry; one without is told, then closed');

  for (const p of pages) check(p.errors.length === 0, `${p.label}: page errors ${JSON.stringify(p.errors)}`);
}, 150000);
