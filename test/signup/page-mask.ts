/** A page with what differs per request masked: CSRF/hidden values, interaction ids, the address typed. */
export function masked(html: string, email?: string): string {
  let out = html.replace(/value="[^"]*"/g, 'value="…"').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/…');
  if (email) out = out.split(email).join('EMAIL');
  return out;
}
