import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { RunningGatehouse } from '../../support/gatehouse.js';
import {
  CALLBACK,
  type client,
  type IdTokenClaims,
  redeemCode,
  startAuthorization,
} from '../../support/relying-party.js';
import { formAction, hiddenField, type UserAgent } from '../../support/user-agent.js';

/**
 * A relying party's code flow driven over HTTP by a user agent without a browser: the pages'
 * passkey forms are read the way passkey.js reads them (data-options, the hidden fields), and
 * answered by a SoftAuthenticator.
 */

type Step = Awaited<ReturnType<UserAgent['follow']>>;

const unescapeHtml = (s: string) => s.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));

type PasskeyFormKind = 'sign-in' | 'second-factor' | 'register';

export interface PasskeyForm<K extends PasskeyFormKind> {
  action: string;
  csrf: string;
  options: K extends 'register' ? PublicKeyCredentialCreationOptionsJSON : PublicKeyCredentialRequestOptionsJSON;
}

/** The passkey form of a page, as passkey.js sees it. */
export function passkeyForm<K extends PasskeyFormKind>(html: string, kind: K): PasskeyForm<K> {
  const form = new RegExp(
    `<form method="post" action="([^"]+)" class="passkey" data-passkey="${kind}" data-options="([^"]*)">([\\s\\S]*?)</form>`,
  ).exec(html);
  if (!form) throw new Error(`no ${kind} passkey form on the page: ${html.replace(/\s+/g, ' ').slice(0, 600)}`);
  return {
    action: unescapeHtml(form[1]!),
    options: JSON.parse(unescapeHtml(form[2]!)),
    csrf: unescapeHtml(hiddenField(form[3]!, 'csrf')),
  };
}

export interface Flow {
  ua: UserAgent;
  verifier: string;
  state: string;
  nonce: string;
  /** The page the flow is on (or the callback it reached). */
  step: Step;
}

/** Starts an authorization request (code + PKCE) and returns the first page. */
export async function openSignIn(
  gh: RunningGatehouse,
  config: client.Configuration,
  extra: Record<string, string> = {},
): Promise<Flow> {
  return startAuthorization(gh, config, extra);
}

/** Posts a form of the current page and follows to the next page (or the callback). */
export async function post(gh: RunningGatehouse, flow: Flow, action: string, form: Record<string, string>) {
  flow.step = await flow.ua.follow(new URL(action, gh.issuer).toString(), gh.issuer, { form });
  return flow.step;
}

/** Answers the page's passkey form with `authenticator`, as passkey.js posts the browser's answer. */
export function answerPasskey(
  gh: RunningGatehouse,
  flow: Flow,
  form: PasskeyForm<'sign-in' | 'second-factor'>,
  authenticator: { authenticate: SoftAuthenticate },
) {
  const credential = JSON.stringify(authenticator.authenticate(form.options, gh.issuer));
  return post(gh, flow, form.action, { csrf: form.csrf, credential });
}

/** Signs in with email and password on the first page. */
export async function password(gh: RunningGatehouse, flow: Flow, user: { email: string; password: string }) {
  const html = flow.step.html ?? '';
  return post(gh, flow, formAction(html), {
    csrf: hiddenField(html, 'csrf'),
    email: user.email,
    password: user.password,
  });
}

/** GETs a page of this flow (the enrol page behind a link). */
export async function open(gh: RunningGatehouse, flow: Flow, href: string) {
  flow.step = await flow.ua.follow(new URL(unescapeHtml(href), gh.issuer).toString(), gh.issuer);
  return flow.step;
}

/** The code at the callback, redeemed as the relying party does; the ID token's claims. */
export async function redeem(config: client.Configuration, flow: Flow) {
  if (!flow.step.url.startsWith(CALLBACK))
    throw new Error(
      `not at the callback: ${flow.step.res.status} ${flow.step.url} ${flow.step.html?.replace(/\s+/g, ' ').slice(0, 600)}`,
    );
  const tokens = await redeemCode(config, new URL(flow.step.url), flow);
  return tokens.claims()! as IdTokenClaims;
}

/** The text of the page's error box. */
export const alertText = (html = '') =>
  unescapeHtml(/<div class="error" role="alert">([^<]*)<\/div>/.exec(html)?.[1] ?? '');

/** The page's link to a step (the enrol choice's "Add a passkey"). */
export function linkTo(html: string, pathEnd: string): string {
  const m = new RegExp(`href="([^"]*${pathEnd})"`).exec(html);
  if (!m) throw new Error(`no link to …${pathEnd}: ${html.replace(/\s+/g, ' ').slice(0, 600)}`);
  return unescapeHtml(m[1]!);
}

/**
 * MFA required, nothing enrolled: password → "Add a passkey" → the authenticator registers →
 * (recovery codes, when they are issued: "Continue") → the callback. Returns the flow at the callback.
 */
export async function enrolDuringSignIn(
  gh: RunningGatehouse,
  config: client.Configuration,
  user: { email: string; password: string },
  authenticator: { register: SoftRegister },
  name = '',
) {
  const flow = await openSignIn(gh, config);
  await password(gh, flow, user);
  await open(gh, flow, linkTo(flow.step.html ?? '', '/enrol/passkey'));
  const form = passkeyForm(flow.step.html ?? '', 'register');
  const response = authenticator.register(form.options, gh.issuer);
  await post(gh, flow, form.action, { csrf: form.csrf, credential: JSON.stringify(response), name });
  const html = flow.step.html ?? '';
  if (html.includes('/continue"')) await post(gh, flow, formAction(html), { csrf: hiddenField(html, 'csrf') });
  return flow;
}

type SoftRegister = (options: PublicKeyCredentialCreationOptionsJSON, origin: string) => unknown;
type SoftAuthenticate = (options: PublicKeyCredentialRequestOptionsJSON, origin: string) => unknown;
