import { escapeHtml } from '../../views.js';

/** Where the consent page finds an API's registered name and scope descriptions (the Resources service). */
export interface ResourceNames {
  lookup(
    indicator: string,
  ): Promise<{ name?: string; scopes: Array<{ name: string; description?: string }> } | undefined>;
}

const OIDC_SCOPE_TEXT: Record<string, string> = {
  openid: 'Confirm your identity',
  profile: 'See your name',
  email: 'See your email address',
  offline_access: 'Stay signed in and access your data while you are away',
};

interface MissingScopes {
  missingOIDCScope?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/**
 * What the consent page lists, in people's words: OIDC scopes as sentences, and for each API
 * its registered name with the registered description of each scope (the raw identifier only
 * where nothing was registered). Returned as list markup built from escaped parts only.
 */
export async function consentView(prompt: MissingScopes, resources?: ResourceNames): Promise<{ html: string }> {
  const lines: string[] = (prompt.missingOIDCScope ?? []).map(
    (s) => `      <li>${escapeHtml(OIDC_SCOPE_TEXT[s] ?? `Use the "${s}" permission`)}</li>`,
  );
  for (const [indicator, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) {
    const resource = await resources?.lookup(indicator);
    const described = new Map(resource?.scopes.map((s) => [s.name, s.description]) ?? []);
    const items = scopes.map((s) => `<li>${escapeHtml(described.get(s) || s)}</li>`).join('');
    lines.push(`      <li>Use ${escapeHtml(resource?.name ?? indicator)}:<ul>${items}</ul></li>`);
  }
  return { html: lines.join('\n') };
}
