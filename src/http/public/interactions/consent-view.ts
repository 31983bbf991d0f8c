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

/** Claims an application can ask for one by one (the claims parameter), in the words of the scope that holds them. */
const OIDC_CLAIM_TEXT: Record<string, string> = {
  email: OIDC_SCOPE_TEXT.email!,
  email_verified: OIDC_SCOPE_TEXT.email!,
  name: OIDC_SCOPE_TEXT.profile!,
  roles: 'See your roles',
};

interface MissingScopes {
  missingOIDCScope?: string[];
  /** Claims asked for with the claims parameter beyond the scopes (granted with the consent, so listed too). */
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** One line of the consent page's list; `items` are an API's scopes under its name. */
export interface ConsentLine {
  text: string;
  hasItems: boolean;
  items: string[];
}

/**
 * What the consent page lists, in people's words: OIDC scopes as sentences, and for each API
 * its registered name with the registered description of each scope (the raw identifier only
 * where nothing was registered). A view model: the page escapes every part.
 */
export async function consentView(prompt: MissingScopes, resources?: ResourceNames): Promise<ConsentLine[]> {
  const lines: ConsentLine[] = (prompt.missingOIDCScope ?? []).map((s) => ({
    text: OIDC_SCOPE_TEXT[s] ?? `Use the "${s}" permission`,
    hasItems: false,
    items: [],
  }));
  for (const claim of prompt.missingOIDCClaims ?? []) {
    const text = OIDC_CLAIM_TEXT[claim] ?? `See your "${claim}"`;
    if (!lines.some((l) => l.text === text)) lines.push({ text, hasItems: false, items: [] });
  }
  for (const [indicator, scopes] of Object.entries(prompt.missingResourceScopes ?? {})) {
    const resource = await resources?.lookup(indicator);
    const described = new Map(resource?.scopes.map((s) => [s.name, s.description]) ?? []);
    lines.push({
      text: `Use ${resource?.name ?? indicator}:`,
      hasItems: scopes.length > 0,
      items: scopes.map((s) => described.get(s) || s),
    });
  }
  return lines;
}
