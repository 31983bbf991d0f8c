import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBrowser } from '../../src/domain/accounts/browser-name.js';
import { deviceHash, type KnownDeviceRepository, KnownDevices } from '../../src/domain/accounts/known-devices.js';
import type { User } from '../../src/domain/accounts/user.js';
import { DomainEvents } from '../../src/domain/events/domain-events.js';

const UA = {
  chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  edgeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  firefoxMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0',
  chromeAndroid:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
};

describe('describeBrowser (the new-device email)', () => {
  it('names the browser and the system in a few words', () => {
    assert.equal(describeBrowser(UA.chromeLinux), 'Chrome on Linux');
    assert.equal(describeBrowser(UA.edgeWindows), 'Edge on Windows');
    assert.equal(describeBrowser(UA.safariIphone), 'Safari on iOS');
    assert.equal(describeBrowser(UA.firefoxMac), 'Firefox on macOS');
    assert.equal(describeBrowser(UA.chromeAndroid), 'Chrome on Android');
  });

  it('says little about what it does not know', () => {
    assert.equal(describeBrowser(undefined), 'An unknown browser');
    assert.equal(describeBrowser('node'), 'An unknown browser');
    assert.equal(describeBrowser('SomeBot (Windows)'), 'A browser on Windows');
  });
});

/** The repository's contract, in memory. */
function memoryRepo(): KnownDeviceRepository & { rows: Map<string, Set<string>> } {
  const rows = new Map<string, Set<string>>();
  return {
    rows,
    async record(userId, hash) {
      const mine = rows.get(userId) ?? new Set<string>();
      const isNew = !mine.has(hash);
      const others = [...mine].filter((h) => h !== hash).length;
      mine.add(hash);
      rows.set(userId, mine);
      return { isNew, others };
    },
  };
}

function setup(notify = true) {
  const repo = memoryRepo();
  const sent: Array<{ to: string; template: string; data: Record<string, unknown> }> = [];
  const emitted: string[] = [];
  const events = new DomainEvents(() => undefined).subscribe((e) => emitted.push(e.type));
  const user = { id: 'u1', email: 'owner@example.test' } as User;
  const devices = new KnownDevices({
    repo,
    users: { get: async () => user },
    mailer: {
      send: async (to, template, data = {}) => {
        sent.push({ to, template, data });
        return 'id';
      },
      link: (path) => `https://id.example${path}`,
    },
    events,
    notify,
    now: () => Date.UTC(2026, 0, 2, 3, 4),
  });
  return { repo, sent, emitted, devices };
}

describe('KnownDevices', () => {
  const origin = { ip: '203.0.113.7', userAgent: UA.firefoxMac };

  it('learns the first browser silently, then tells the owner about another one, once', async () => {
    const { sent, emitted, devices, repo } = setup();
    const first = await devices.signedIn('u1', undefined, origin);
    assert.match(first, /^[A-Za-z0-9_-]{43}$/, 'a new 256-bit device value');
    assert.equal(sent.length, 0, 'no email on the first sign-in (sign-up, or the first after an upgrade)');
    assert.equal(await devices.signedIn('u1', first, origin), first, 'the same browser keeps its value');
    assert.equal(sent.length, 0);

    const second = await devices.signedIn('u1', undefined, origin);
    assert.notEqual(second, first);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.to, 'owner@example.test');
    assert.equal(sent[0]!.template, 'new-device');
    assert.deepEqual(sent[0]!.data, {
      when: '2 Jan 2026, 03:04 UTC',
      browser: 'Firefox on macOS',
      ip: '203.0.113.7',
      resetLink: 'https://id.example/forgot-password',
    });
    assert.deepEqual(emitted, ['new_device.signed_in']);
    await devices.signedIn('u1', second, origin);
    assert.equal(sent.length, 1, 'known now');
    assert.ok(repo.rows.get('u1')!.has(deviceHash(first)), 'stored as a hash');
    assert.ok(!repo.rows.get('u1')!.has(first), 'never the value itself');
  });

  it('replaces a malformed cookie value rather than storing it', async () => {
    const { devices } = setup();
    const value = await devices.signedIn('u1', 'x; y', origin);
    assert.match(value, /^[A-Za-z0-9_-]{43}$/);
  });

  it('NOTIFY_NEW_DEVICE=off: learns devices, emails nobody', async () => {
    const { sent, emitted, devices } = setup(false);
    await devices.signedIn('u1', undefined, origin);
    await devices.signedIn('u1', undefined, origin);
    assert.equal(sent.length, 0);
    assert.deepEqual(emitted, []);
  });
});
