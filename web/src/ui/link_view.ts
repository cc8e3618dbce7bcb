// The linked connection's place on the page (docs/WEB.md "Two connections"): its switch
// and its indicator. On unless the page was opened with ?link=off or the person turned it
// off (a click on the indicator; remembered in localStorage). The indicator sits in the
// top bar's quality panel: "2 paths" with the link's own round trip while the second
// connection carries the room, a muted "1 path" while it is being set up, retried or off,
// its tooltip saying why. Main thread only; the App owns the Link (through its Connection)
// and calls these.
import type { Link } from '../net/link.js';
import { $ } from './dom.js';

const STORE_KEY = 'tutti.link';

// Reads the switch (?link=off|0 wins over the stored choice) and binds the indicator's
// click to flip it.
export function initLinkSwitch(link: Link, params: URLSearchParams): void {
  const q = params.get('link');
  const off = q !== null ? q === 'off' || q === '0' : localStorage.getItem(STORE_KEY) === 'off';
  link.setEnabled(!off);
  $('q-link').addEventListener('click', () => {
    link.setEnabled(!link.isOn);
    localStorage.setItem(STORE_KEY, link.isOn ? 'on' : 'off');
    showLink(link);
  });
}

// The indicator's text, class and tooltip; pure, so the unit tests read it.
export function linkLabel(link: Pick<Link, 'state' | 'rttUs' | 'detail' | 'attempt' | 'nextRetryAt'>,
                          nowMs = Date.now()): { text: string; cls: string; title: string } {
  const turnOff = 'Click to use one connection only.';
  switch (link.state) {
    case 'attached': {
      const rtt = link.rttUs === null ? '' : ` ${(link.rttUs / 1000).toFixed(1)} ms`;
      return { text: `2 paths${rtt}`, cls: 'on',
               title: `A second connection carries the room too, so a stall on one does not hold up the music. ${turnOff}` };
    }
    case 'off':
      return { text: '1 path', cls: 'off', title: 'The second connection is off. Click to turn it on.' };
    case 'waiting': {
      const left = Math.max(0, Math.ceil((link.nextRetryAt - nowMs) / 1000));
      return { text: '1 path', cls: 'down',
               title: `The second connection is down (${link.detail || 'failed'}); trying again in ${left} s. ${turnOff}` };
    }
    case 'asking': case 'opening':
      return { text: '1 path', cls: 'down', title: `Opening a second connection… ${turnOff}` };
    default:
      return { text: '1 path', cls: 'down', title: `A second connection opens once you are in a room. ${turnOff}` };
  }
}

export function showLink(link: Link): void {
  const e = $('q-link');
  const l = linkLabel(link);
  if (e.textContent !== l.text) e.textContent = l.text;
  e.className = `link-state ${l.cls}`;
  e.title = l.title;
  e.dataset.state = link.state;
}
