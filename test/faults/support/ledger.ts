/**
 * Everything the load driver was issued and redeemed, and every answer it got: the invariants
 * are checked against this record (and the database) after each scenario.
 */

export type TokenKind = 'access_token' | 'refresh_token' | 'id_token';
/** `uncertain`: a request that would change it got no clear answer (a revocation or rotation may or may not have happened). */
export type TokenState = 'live' | 'consumed' | 'revoked' | 'uncertain';

export interface IssuedToken {
  kind: TokenKind;
  value: string;
  clientId: string;
  /** The user the flow signed in (none for client_credentials). */
  userId?: string;
  /** Epoch seconds. */
  exp: number;
  issuedAt: number;
  /** Tokens of one sign-in (code, then its refresh chain) share a grant: revoking one revokes all. */
  grant?: string;
  state: TokenState;
}

export interface Sample {
  endpoint: string;
  status: number;
  ms: number;
  /** Epoch ms when the answer arrived. */
  at: number;
  /** A classified failure; undefined for an expected answer. */
  failure?: 'server_error' | 'unavailable' | 'rate_limited' | 'bad_gateway' | 'timeout' | 'network' | 'unexpected';
  /** For failures: the OAuth error code or message. */
  detail?: string;
}

export class Ledger {
  readonly tokens = new Map<string, IssuedToken>();
  /** Code or refresh token → successful redemptions. */
  readonly redemptions = new Map<string, number>();
  readonly samples: Sample[] = [];
  readonly violations: string[] = [];
  /** Successful token-endpoint answers per client (for the audit log count). */
  readonly tokenResponses = new Map<string, number>();
  readonly revocations: string[] = [];
  flows = 0;

  /** While set, new access tokens are recorded `uncertain` (a Redis flush may remove them before anyone looks). */
  uncertainIssuance = false;

  issue(token: Omit<IssuedToken, 'state' | 'issuedAt'>): void {
    this.tokens.set(token.value, {
      ...token,
      issuedAt: Date.now(),
      state: this.uncertainIssuance && token.kind === 'access_token' ? 'uncertain' : 'live',
    });
  }

  /** RFC 7009 §2.1 as oidc-provider does it: revoking an access or refresh token revokes its whole grant. */
  revokeGrant(grant: string, state: TokenState = 'revoked', from: TokenState[] = ['live']): void {
    for (const t of this.tokens.values()) if (t.grant === grant && from.includes(t.state)) t.state = state;
  }

  mark(value: string, state: TokenState): void {
    const t = this.tokens.get(value);
    if (t) t.state = state;
  }

  redeemed(artifact: string): void {
    const n = (this.redemptions.get(artifact) ?? 0) + 1;
    this.redemptions.set(artifact, n);
    if (n > 1) this.violations.push(`double spend: an artifact was redeemed ${n} times`);
  }

  tokenResponse(clientId: string): void {
    this.tokenResponses.set(clientId, (this.tokenResponses.get(clientId) ?? 0) + 1);
  }

  violation(message: string): void {
    this.violations.push(message);
  }

  /** Samples in [from, to) epoch ms. */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** p50/p99 per endpoint and failure counts for a window of samples. */
export function summarize(samples: Sample[]): {
  endpoints: Record<string, { n: number; p50: number; p99: number; failures: number }>;
  failures: Record<string, number>;
} {
  const endpoints: Record<string, { n: number; p50: number; p99: number; failures: number }> = {};
  const failures: Record<string, number> = {};
  const by = new Map<string, Sample[]>();
  for (const s of samples) {
    by.set(s.endpoint, [...(by.get(s.endpoint) ?? []), s]);
    if (s.failure) failures[s.failure] = (failures[s.failure] ?? 0) + 1;
  }
  for (const [endpoint, list] of [...by].sort()) {
    const ok = list.filter((s) => !s.failure).map((s) => s.ms);
    endpoints[endpoint] = {
      n: list.length,
      p50: Math.round(percentile(ok, 50) * 10) / 10,
      p99: Math.round(percentile(ok, 99) * 10) / 10,
      failures: list.filter((s) => s.failure).length,
    };
  }
  return { endpoints, failures };
}
