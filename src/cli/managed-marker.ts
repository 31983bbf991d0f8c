/**
 * How `gatehouse apply` marks what it created, so that it later deletes only those objects.
 * The admin API has no labels field, so the marker lives in a free-text field of each object:
 * - resources: the `name` ends with " [gatehouse:managed]"
 * - roles: the `description` ends with " [gatehouse:managed]"
 * - clients: `contacts` includes managed-by-gatehouse-apply@gatehouse.invalid (contacts must be
 *   email addresses; .invalid is reserved by RFC 2606, so it never reaches anyone)
 * `plan`, `apply` and `export` hide the marker; everything without it is never changed or deleted.
 */
export const MANAGED_TAG = '[gatehouse:managed]';
export const MANAGED_CONTACT = 'managed-by-gatehouse-apply@gatehouse.invalid';

/** Text as stored: the user's text (if any) followed by the marker. */
export function withTag(text: string | null | undefined): string {
  return text ? `${text} ${MANAGED_TAG}` : MANAGED_TAG;
}

export function hasTag(text: unknown): boolean {
  return typeof text === 'string' && text.endsWith(MANAGED_TAG);
}

/** The user's text without the marker; undefined when nothing is left. */
export function withoutTag(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const stripped = hasTag(text) ? text.slice(0, -MANAGED_TAG.length).trimEnd() : text;
  return stripped || undefined;
}

export function hasContact(contacts: unknown): boolean {
  return Array.isArray(contacts) && contacts.includes(MANAGED_CONTACT);
}

export function withoutContact(contacts: unknown): string[] | undefined {
  if (!Array.isArray(contacts)) return undefined;
  const rest = contacts.filter((c) => c !== MANAGED_CONTACT);
  return rest.length ? rest : undefined;
}
