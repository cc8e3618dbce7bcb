// Small DOM helpers (no UI library: the page is a handful of panels).
export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}
export const $in = (id: string) => $(id) as HTMLInputElement;
export const $sel = (id: string) => $(id) as HTMLSelectElement;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// A stable colour per user: their avatar colour when set, else a hue from the id.
export function colorFor(userId: string, avatarColor?: string): string {
  if (avatarColor && /^#[0-9a-fA-F]{6}$/.test(avatarColor)) return avatarColor;
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) h = Math.imul(h ^ userId.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 70% 58%)`;
}

// The URL fragment as key/value pairs: #room=Jam&token=...
export function readFragment(hash: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of hash.replace(/^#/, '').split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = decodeURIComponent(i < 0 ? part : part.slice(0, i));
    m.set(k, i < 0 ? '' : decodeURIComponent(part.slice(i + 1)));
  }
  return m;
}
