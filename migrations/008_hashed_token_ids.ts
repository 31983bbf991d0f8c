import type { Knex } from 'knex';

// Tokens at rest (stored-ids.ts): artifacts are keyed by SHA-256 of their id (base64url, no
// padding) and their payload no longer carries the id as `jti`. Existing rows are rewritten in
// place; grants keep their id (a reference, not a credential). A successor's value, which the
// grace window must give back, is sealed in `successor_sealed` from now on: rows rotated before
// this migration have none, so a retry of one of them is treated as reuse.
const hash = (column: string) =>
  `translate(rtrim(encode(sha256(convert_to(${column}, 'UTF8')), 'base64'), '='), '+/', '-_')`;

export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table oidc_models add column successor_sealed text');
  await knex.raw(`update oidc_models set id = ${hash('id')}, payload = payload - 'jti',
    successor_id = case when successor_id is null then null else ${hash('successor_id')} end,
    user_code = case when user_code is null then null else ${hash('user_code')} end
    where model <> 'Grant'`);
  await knex.raw(`update oidc_models
    set payload = jsonb_set(payload, '{session,cookie}', to_jsonb(${hash("payload #>> '{session,cookie}'")}))
    where model = 'Interaction' and payload #>> '{session,cookie}' is not null`);
}

export async function down(): Promise<void> {
  // A hash cannot be turned back into the token: rows written since stay unreadable to older code.
  throw new Error('008_hashed_token_ids cannot be undone: token ids are stored as one-way hashes');
}
