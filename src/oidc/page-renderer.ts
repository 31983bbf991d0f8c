import type { Context } from 'koa';

/** Port: the HTML pages oidc-provider shows itself (errors, logout), drawn by the public app's views. */
export interface PageRenderer {
  error(ctx: Context, out: { error: string; error_description?: string }, error: unknown): void | Promise<void>;
  logout(ctx: Context, form: string): void | Promise<void>;
  loggedOut(ctx: Context): void | Promise<void>;
}
