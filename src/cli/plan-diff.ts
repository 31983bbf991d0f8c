/** Comparing what a config file wants with what the server holds. */
import type { AdminClient } from './admin-client.js';

export type ChangeAction = 'create' | 'update' | 'delete' | 'assign' | 'unassign';

/** One step of a plan; `run` performs it and may return a line to show once (a new client secret). */
export interface Change {
  action: ChangeAction;
  kind: 'resource' | 'role' | 'client' | 'user_role' | 'client_role' | 'connection';
  key: string;
  fields?: string[];
  run(api: AdminClient): Promise<string | undefined>;
}

/** JSON with sorted keys, so that key order never counts as a difference. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .filter((k) => (v as any)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

const byName = (a: any, b: any) => canonical(a).localeCompare(canonical(b));
const sortedSet = (xs: unknown[] | undefined) => [...(xs ?? [])].sort(byName);

/**
 * Fields of `desired` that differ from `current`. Only fields the file sets are compared: the
 * admin API cannot unset a field, so leaving one out of the file means "leave it as it is".
 */
export function changedFields(
  desired: Record<string, unknown>,
  current: Record<string, unknown>,
  sets: string[] = [],
): string[] {
  return Object.keys(desired).filter((k) => {
    if (desired[k] === undefined) return false;
    const a = sets.includes(k) ? sortedSet(desired[k] as unknown[]) : desired[k];
    const b = sets.includes(k) ? sortedSet(current[k] as unknown[]) : current[k];
    return canonical(a) !== canonical(b);
  });
}
