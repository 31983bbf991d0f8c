/**
 * The attacker of the login-flood scenario, in its own process so it can be pinned to its own
 * core (`taskset -c 1`): POSTs wrong passwords to the instances' sign-in form at a fixed rate,
 * straight to the instances as the edge balancer would forward them (X-Forwarded-For is the
 * attacker's one address). Prints one JSON line: attempts sent, answers by status, latency p99.
 *
 * Input (argv[2], JSON): { targets: string[], path, cookie, form, forwardedFor, rate, durationMs }.
 */
import http from 'node:http';

interface FloodInput {
  targets: string[];
  path: string;
  cookie: string;
  form: Record<string, string>;
  forwardedFor: string;
  rate: number;
  durationMs: number;
}

const input = JSON.parse(process.argv[2]!) as FloodInput;
const body = new URLSearchParams(input.form).toString();
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const answered = new Map<number, number>();
const ms: number[] = [];
let sent = 0;
let inflight = 0;

function post(target: string): Promise<void> {
  const url = new URL(input.path, target);
  const started = performance.now();
  inflight++;
  return new Promise<void>((resolve) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          cookie: input.cookie,
          'x-forwarded-for': input.forwardedFor,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          answered.set(res.statusCode ?? 0, (answered.get(res.statusCode ?? 0) ?? 0) + 1);
          ms.push(performance.now() - started);
          resolve();
        });
      },
    );
    req.on('error', () => {
      answered.set(0, (answered.get(0) ?? 0) + 1);
      resolve();
    });
    req.end(body);
  }).finally(() => inflight--);
}

const started = Date.now();
const pending = new Set<Promise<void>>();
for (let i = 0; Date.now() < started + input.durationMs; i++) {
  const due = started + (i * 1000) / input.rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  // Bounded like a real client pool: beyond 256 open requests the attacker waits for answers.
  if (inflight >= 256) await Promise.race(pending);
  const p = post(input.targets[i % input.targets.length]!);
  pending.add(p);
  void p.finally(() => pending.delete(p));
  sent++;
}
await Promise.all(pending);
ms.sort((a, b) => a - b);
const p99 = ms.length ? ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))]! : 0;
process.stdout.write(`${JSON.stringify({ sent, answered: Object.fromEntries(answered), p99 })}\n`);
agent.destroy();
