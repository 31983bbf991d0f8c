import { createUser, createClient, discover, loginAndGetTokens, client } from '../test/support/relying-party.js';
const issuer = 'http://localhost:3900';
const adminKey = 'profiling-admin-key-0123456789abcdefghij';
const gh: any = { issuer, admin: async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:3901${path}`, { method, headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
} };
const user = await createUser(gh);
const app = await createClient(gh, { first_party: true });
const config = await discover(gh, app);
const tokens: string[] = [];
await Promise.all(Array.from({ length: 16 }, async () => {
  for (let i = 0; i < 4; i++) { const { tokens: t } = await loginAndGetTokens(gh, config, { user }); tokens.push(t.refresh_token!); }
}));
const auth = 'Basic ' + Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64');
let done = 0; const start = Date.now(); const lat: number[] = [];
const end = start + 10_000;
await Promise.all(tokens.slice(0, Number(process.env.CHAINS ?? 16)).map(async (rt0) => {
  let rt = rt0;
  while (Date.now() < end) {
    const t0 = performance.now();
    const res = await fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${rt}` });
    const j: any = await res.json();
    lat.push(performance.now() - t0);
    if (res.status !== 200) { console.log('fail', j); return; }
    rt = j.refresh_token; done++;
  }
}));
lat.sort((a, b) => a - b);
console.log('rotations/s', (done / ((Date.now() - start) / 1000)).toFixed(0), 'p50', lat[Math.floor(lat.length / 2)]!.toFixed(1), 'p99', lat[Math.floor(lat.length * 0.99)]!.toFixed(1));
