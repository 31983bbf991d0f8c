/**
 * The last line of defence for "the audit log never stores secrets": whatever an emitter puts in
 * `data`, members whose names say they hold a secret are removed before the event is queued.
 */
const SECRET_SUFFIX = /(password|password_?hash|secret|token|authorization|cookie|verifier)$/i;
/** Exact names: authorization codes, and the private members of a JWK (RFC 7518 §6). */
const SECRET_NAME = new Set(['code', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);

/** Text longer than this is cut: details, not payloads. */
const MAX_STRING_CHARS = 2048;
/** Nesting deeper than this is dropped (client metadata is at most three levels deep). */
const MAX_DEPTH = 6;

export function scrubAuditData(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cleanText(value, MAX_STRING_CHARS);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? String(value) : value;
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.map((v) => scrubAuditData(v, depth + 1));
  const out: Record<string, unknown> = {};
  // for…in with an own-property check: Object.entries would allocate a pair per member.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || typeof v === 'function') continue;
    if (SECRET_NAME.has(key) || SECRET_SUFFIX.test(key)) continue;
    out[cleanText(key, 200)] = scrubAuditData(v, depth + 1);
  }
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Either kind of character cleanText changes; most text has neither and is returned as it is. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for (PostgreSQL text cannot hold it).
const NEEDS_CLEANING = /[\u0000\uD800-\uDFFF]/;

/**
 * PostgreSQL text and jsonb cannot hold U+0000 or a lone UTF-16 surrogate; one such character
 * would make a whole batch fail on every retry, so both are removed here. Long text is cut.
 */
export function cleanText(value: string, max: number): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  if (!NEEDS_CLEANING.test(cut)) return cut;
  return cut.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}
