import { parseArgs } from 'node:util';
import { loadDotEnv } from '../config/config.js';
import { AdminClient, ApiError, connectionFromEnv } from './admin-client.js';
import { COMMANDS, type CommandContext } from './admin-commands.js';
import { auditTail, DEFAULT_POLL_MS, DEFAULT_TAIL } from './audit-tail.js';
import { CommandFailed, UsageError } from './cli-output.js';
import { applyCommand, exportCommand, planCommand, type Output } from './config-as-code.js';
import { loadConfigFile } from './config-file.js';
import { migrateDataCommand } from './migrate-data.js';

/** Exit codes: 0 done, 1 the admin API refused or could not be reached, 2 wrong usage (or a bad file). */
export const EXIT_OK = 0;
export const EXIT_API_ERROR = 1;
export const EXIT_USAGE = 2;

export const USAGE = `usage: gatehouse <command> [options]

  clients   list | get <client_id> | delete <client_id>
            create [--name N] [--redirect-uri U]… [--grant-type G]… [--scope S] [--auth-method M] [--json '{…}']
  users     list [--q text] | get|disable|enable|delete <id|email>
            unlock <id|email>                       clear failed passwords and a password lock
            create --email E [--name N] [--email-verified] [--password-env VAR]
            factors <id|email>                      second factors (authenticator app, passkeys, recovery codes)
            reset-factors <id|email> [--factor ID]  remove all second factors, or one; the password stays
  resources list | delete <indicator>
            create <indicator> [--name N] [--scope name[=description]]… [--json '{…}']
  roles     list | delete <name>
            create <name> [--description D] [--permission "<resource> <scope>"]…
            assign|unassign <role> (--user <id|email> | --client <client_id>)
  connections list | get|delete <id|slug>
            create --type oidc|oauth2|saml --name N [--preset P] [--issuer URL] [--client-id ID]
                   [--client-secret-env VAR] [--apple-team-id T --apple-key-id K]
                   [--idp-metadata-url URL | --idp-metadata-file FILE]   (saml)
                   [--domain D]… [--scope S]… [--json '{…}']
  keys      list | revoke <kid>
            rotate [--alg ES256|RS256|EdDSA] [--publish-seconds N] [--emergency]
  outbox    list [--to address] [--limit N]        newest emails first (read mail when SMTP_URL is unset)
  audit     tail [--type T] [--user ID] [--client ID] [--limit N] [--follow] [--interval ms]
  plan -f gatehouse.yaml     what apply would change
  apply -f gatehouse.yaml    make the server match the file (objects it did not create are never changed)
  export                     the server's state as a gatehouse.yaml (stdout)
  migrate-data --from DIR --to postgres://… [--force]
                             copy all data of a stopped embedded Gatehouse (PGlite directory, default
                             GATEHOUSE_DATA_DIR or ./data) into PostgreSQL (default DATABASE_URL);
                             refuses a target with data unless --force (which empties it first)

options: --table (compact table instead of JSON), --help
         values may begin with "-" (key and client ids do); short options stand alone: -f file
env: GATEHOUSE_ADMIN_URL (default http://ADMIN_HOST:ADMIN_PORT, i.e. http://127.0.0.1:3001),
     GATEHOUSE_ADMIN_TOKEN or GATEHOUSE_ADMIN_KEY (default: the file keys/admin-key);
     a .env file in the working directory is read first (the real environment wins)
`;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  table: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  json: { type: 'string' },
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'grant-type': { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  'auth-method': { type: 'string' },
  q: { type: 'string' },
  email: { type: 'string' },
  'email-verified': { type: 'boolean' },
  'password-env': { type: 'string' },
  factor: { type: 'string' },
  indicator: { type: 'string' },
  description: { type: 'string' },
  permission: { type: 'string', multiple: true },
  user: { type: 'string' },
  client: { type: 'string' },
  type: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean' },
  interval: { type: 'string' },
  alg: { type: 'string' },
  'publish-seconds': { type: 'string' },
  emergency: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  force: { type: 'boolean' },
  preset: { type: 'string' },
  issuer: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-env': { type: 'string' },
  'apple-team-id': { type: 'string' },
  'apple-key-id': { type: 'string' },
  'idp-metadata-url': { type: 'string' },
  'idp-metadata-file': { type: 'string' },
  domain: { type: 'string', multiple: true },
} as const;

const io: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function positiveInt(v: string | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}`);
  return n;
}

/**
 * Key ids (RFC 7638 thumbprints), client ids and other values are base64url and may begin with "-".
 * parseArgs would read `keys revoke -yQ…` as the unknown option -y, so an argument that begins with
 * a single dash and is longer than a lone short option (-f, -h) is a value: a positional, or the
 * value of the option before it. Short options therefore stand alone (`-f file`, not `-ffile`).
 */
function shieldDashValues(argv: string[]) {
  const held = new Map<string, string>();
  const end = argv.indexOf('--');
  const args = argv.map((arg, i) => {
    if ((end !== -1 && i > end) || !/^-[^-]./.test(arg)) return arg;
    const stand = `\u0000${held.size}`;
    held.set(stand, arg);
    return stand;
  });
  const restore = (v: string) => held.get(v) ?? v;
  const restoreValues = <T extends Record<string, unknown>>(values: T): T =>
    Object.fromEntries(
      Object.entries(values).map(([k, v]) => [
        k,
        typeof v === 'string'
          ? restore(v)
          : Array.isArray(v)
            ? v.map((x) => (typeof x === 'string' ? restore(x) : x))
            : v,
      ]),
    ) as T;
  return { args, restore, restoreValues };
}

function parseCommandLine(argv: string[]) {
  try {
    const shielded = shieldDashValues(argv);
    const raw = parseArgs({ args: shielded.args, options: OPTIONS, allowPositionals: true, strict: true });
    return { values: shielded.restoreValues(raw.values), positionals: raw.positionals.map(shielded.restore) };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values: flags, positionals } = parseCommandLine(argv);
  const [group, verb, ...args] = positionals;
  if (flags.help || !group) {
    process.stdout.write(USAGE);
    return group || flags.help ? EXIT_OK : EXIT_USAGE;
  }
  // scope is repeatable for resources; elsewhere (clients create) it is one string.
  const scope = flags.scope;
  if (group === 'clients' && scope && scope.length > 1)
    throw new UsageError('--scope is given once for a client (space-separated scopes)');
  if (group === 'migrate-data') {
    if (verb !== undefined)
      throw new UsageError('migrate-data takes options only: --from DIR --to postgres://… [--force]');
    const to = flags.to ?? env.DATABASE_URL;
    if (!to) throw new UsageError('migrate-data needs --to postgres://… (or DATABASE_URL)');
    await migrateDataCommand(
      { from: flags.from ?? env.GATEHOUSE_DATA_DIR ?? './data', to, force: Boolean(flags.force) },
      io.out,
    );
    return EXIT_OK;
  }
  const conn = connectionFromEnv(env);
  if (!conn)
    throw new UsageError(
      'no admin credentials: set GATEHOUSE_ADMIN_KEY or GATEHOUSE_ADMIN_TOKEN, or run where keys/admin-key exists',
    );
  const api = new AdminClient(conn);
  const table = Boolean(flags.table);

  if (group === 'plan' || group === 'apply') {
    if (verb !== undefined) throw new UsageError(`${group} takes no arguments besides -f <file>`);
    if (!flags.file) throw new UsageError(`${group} needs -f <file>`);
    const file = loadConfigFile(flags.file, env);
    return group === 'plan' ? planCommand(api, file, io) : applyCommand(api, file, io);
  }
  if (group === 'export') {
    if (verb !== undefined) throw new UsageError('export takes no arguments (it writes to stdout)');
    return exportCommand(api, io);
  }
  if (group === 'audit') {
    if (verb !== 'tail' || args.length) throw new UsageError('audit has one command: audit tail [--type T] [--follow]');
    await auditTail(
      api,
      {
        type: flags.type,
        user: flags.user,
        client: flags.client,
        follow: Boolean(flags.follow),
        table,
        limit: positiveInt(flags.limit, 'limit', DEFAULT_TAIL, 200),
        intervalMs: positiveInt(flags.interval, 'interval', DEFAULT_POLL_MS),
      },
      (s) => process.stdout.write(s),
    );
    return EXIT_OK;
  }
  const handler = COMMANDS[group]?.[verb ?? ''];
  if (!handler) {
    throw new UsageError(
      COMMANDS[group]
        ? `unknown ${group} command: ${verb ?? '(none)'} (one of ${Object.keys(COMMANDS[group]!).join(', ')})`
        : `unknown command: ${group}`,
    );
  }
  const ctx: CommandContext = {
    api,
    args,
    flags: { ...flags, scope: group === 'clients' ? scope?.[0] : scope },
    table,
    env,
  };
  await handler(ctx);
  return EXIT_OK;
}

loadDotEnv(process.env);
main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`gatehouse: ${err.message}\nrun 'gatehouse --help' for usage\n`);
      process.exitCode = EXIT_USAGE;
    } else if (err instanceof CommandFailed) {
      process.stderr.write(`gatehouse: ${err.message}\n`);
      process.exitCode = EXIT_API_ERROR;
    } else if (err instanceof ApiError) {
      process.stderr.write(`gatehouse: ${err.error}${err.description ? `: ${err.description}` : ''}\n`);
      process.exitCode = EXIT_API_ERROR;
    } else {
      process.stderr.write(`gatehouse: ${(err as Error).stack ?? err}\n`);
      process.exitCode = EXIT_API_ERROR;
    }
  },
);
