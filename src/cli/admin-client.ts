import fs from 'node:fs';
import path from 'node:path';

/** A 4xx/5xx from the admin API (or no answer at all): the CLI exits 1 and prints both fields. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(description ? `${error}: ${description}` : error);
  }
}

/** Where the admin API is and how to authenticate to it; read once, from the CLI's environment. */
export interface AdminConnection {
  baseUrl: string;
  authorization: string;
}

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:3001';

/**
 * The CLI is its own program, not part of the server, so it reads its settings here rather than
 * through src/config: GATEHOUSE_ADMIN_URL, else the server's own ADMIN_HOST / ADMIN_PORT (so a
 * shell or .env that moved the admin port moves the CLI with it), then GATEHOUSE_ADMIN_TOKEN
 * (an admin access token), GATEHOUSE_ADMIN_KEY or the key file the server generated
 * (`$GATEHOUSE_KEYS_DIR/admin-key`, default ./keys).
 */
export function connectionFromEnv(env: NodeJS.ProcessEnv): AdminConnection | undefined {
  const baseUrl = (env.GATEHOUSE_ADMIN_URL || adminUrlFromServerEnv(env)).replace(/\/+$/, '');
  const token = env.GATEHOUSE_ADMIN_TOKEN || env.GATEHOUSE_ADMIN_KEY || readKeyFile(env);
  return token ? { baseUrl, authorization: `Bearer ${token}` } : undefined;
}

/** The admin API's URL from the variables the server binds it with; a wildcard bind is reached on loopback. */
export function adminUrlFromServerEnv(env: NodeJS.ProcessEnv): string {
  if (!env.ADMIN_HOST && !env.ADMIN_PORT) return DEFAULT_ADMIN_URL;
  let host = env.ADMIN_HOST || '127.0.0.1';
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${env.ADMIN_PORT || 3001}`;
}

function readKeyFile(env: NodeJS.ProcessEnv): string | undefined {
  const file = path.join(env.GATEHOUSE_KEYS_DIR || 'keys', 'admin-key');
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Upper bound of one list page in the admin API (pageParams). */
const PAGE_LIMIT = 200;

/** A thin JSON-over-HTTP client of the admin API; it never talks to the database. */
export class AdminClient {
  constructor(private readonly conn: AdminConnection) {}

  async request<T = any>(method: string, pathAndQuery: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.conn.baseUrl}${pathAndQuery}`, {
        method,
        headers: {
          authorization: this.conn.authorization,
          'user-agent': 'gatehouse-cli',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(
        0,
        'connection_failed',
        `cannot reach ${this.conn.baseUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
      );
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      throw new ApiError(
        res.status,
        typeof json?.error === 'string' ? json.error : `http_${res.status}`,
        typeof json?.error_description === 'string' ? json.error_description : undefined,
      );
    }
    return json as T;
  }

  get<T = any>(p: string) {
    return this.request<T>('GET', p);
  }
  post<T = any>(p: string, body?: unknown) {
    return this.request<T>('POST', p, body);
  }
  patch<T = any>(p: string, body: unknown) {
    return this.request<T>('PATCH', p, body);
  }
  put(p: string) {
    return this.request('PUT', p);
  }
  delete(p: string) {
    return this.request('DELETE', p);
  }

  /** Every item of a cursor-paginated list (`items` + `next_cursor`). */
  async all<T = any>(p: string, query: Record<string, string> = {}): Promise<T[]> {
    const items: T[] = [];
    let after: string | null = null;
    do {
      const qs = new URLSearchParams({ ...query, limit: String(PAGE_LIMIT), ...(after ? { after } : {}) });
      const page: { items: T[]; next_cursor?: string | null } = await this.get(`${p}?${qs}`);
      items.push(...page.items);
      after = page.next_cursor ?? null;
    } while (after);
    return items;
  }

  /** A user by id, or by email when the argument contains an @ (exact, case-insensitive). */
  async findUser(idOrEmail: string): Promise<any | undefined> {
    if (!idOrEmail.includes('@')) {
      try {
        return await this.get(`/admin/users/${encodeURIComponent(idOrEmail)}`);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return undefined;
        throw err;
      }
    }
    const candidates = await this.all('/admin/users', { q: idOrEmail });
    return candidates.find((u) => String(u.email).toLowerCase() === idOrEmail.toLowerCase());
  }
}
