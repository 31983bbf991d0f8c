import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, CDPSession, Page } from 'playwright-core';
import { type AuthorizationRequest, type client, redeemCode } from './relying-party.js';

/** Debian's Chromium; the suite never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Fail a stuck step in seconds, not after Playwright's 30 s default. */
const STEP_TIMEOUT_MS = 10_000;

/** A `skip` for a browser suite: the reason when Chromium is missing. */
export const skipWithoutChromium = fs.existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install -y chromium)`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** One Chromium for the enclosing suite: launched before its tests, closed after them. */
export function useChromium(): () => Browser {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running (used outside a test?)');
    return browser;
  };
}

/** A page in a fresh browser profile; CSP violations reported on the console are collected. */
export async function openPage(browser: Browser, options: BrowserContextOptions = {}) {
  const context: BrowserContext = await browser.newContext(options);
  const page: Page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const cspViolations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return { context, page, cspViolations };
}

/**
 * Chromium's virtual authenticator (CDP WebAuthn domain) on this page: a platform authenticator
 * with resident keys and user verification that answers without a person (presence simulated).
 */
export async function addVirtualAuthenticator(page: Page, options: { userVerification?: boolean } = {}) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const uv = options.userVerification ?? true;
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      ctap2Version: 'ctap2_1',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: uv,
      isUserVerified: uv,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
  };
}

/**
 * The relying party's redirect target: a tiny server on a free loopback port that records each
 * callback URL. Not page.route(): Playwright never routes the follow-up request of a redirect
 * (documented), and the authorization response is exactly such a redirect. Not the fixed port
 * 8976 either, so two runs on one machine cannot collide.
 */
export async function startCallbackServer() {
  const hits: string[] = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    // A form_post response arrives as a POST: recorded as the URL with the form in the query.
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      url.search = body;
    }
    if (url.pathname === '/callback') hits.push(url.toString()); // not the browser's /favicon.ico
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>callback</title><p>back at the client</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * After a first factor was set up: the recovery codes are shown once when an issuer is configured
 * (then `onCodes` runs on that page and "Continue" is pressed), else the page goes on to the callback.
 * (The losing wait times out later: its rejection is dropped on purpose.)
 */
export async function continuePastRecoveryCodes(page: Page, callbackUrl: string, onCodes?: () => Promise<void>) {
  await Promise.race([
    page.waitForURL((u) => u.href.startsWith(callbackUrl)).catch(() => undefined),
    page
      .getByRole('heading', { name: 'Save your recovery codes' })
      .waitFor()
      .catch(() => undefined),
  ]);
  if (page.url().startsWith(callbackUrl)) return;
  await onCodes?.();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** Waits until the page lands on the callback and redeems the code there as the relying party does. */
export async function tokensAtCallback(
  page: Page,
  config: client.Configuration,
  callbackUrl: string,
  request: AuthorizationRequest,
) {
  await page.waitForURL((u) => u.href.startsWith(callbackUrl));
  return redeemCode(config, new URL(page.url()), request);
}

/** WCAG 2.1 A and AA, plus axe's best practices (landmarks, one h1, …). */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
let axeSource: string | undefined;

export interface AxeViolation {
  id: string;
  help: string;
  nodes: Array<{ html: string }>;
}

/**
 * axe-core's violations (AXE_TAGS) on `html`, checked as a document in a fresh context of `browser`:
 * the page's CSP forbids inline scripts, so the axe script goes into the checked copy only.
 */
export async function axeViolations(browser: Browser, html: string): Promise<AxeViolation[]> {
  axeSource ??= fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.setContent(html);
    await page.addScriptTag({ content: axeSource });
    return (await page.evaluate(
      async (tags) =>
        (
          await (globalThis as unknown as { axe: { run(o: unknown): Promise<{ violations: unknown[] }> } }).axe.run({
            runOnly: { type: 'tag', values: tags },
          })
        ).violations,
      AXE_TAGS,
    )) as AxeViolation[];
  } finally {
    await context.close();
  }
}
