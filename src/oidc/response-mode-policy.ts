import type { Context, Next } from 'koa';
import type { PageRenderer } from './page-renderer.js';

/** OAuth 2.1 with the code flow: responses go in the query or a form post, never the fragment. */
export const ALLOWED_RESPONSE_MODES = ['query', 'form_post'];

export function responseModePolicy(paths: string[], pages: PageRenderer) {
  return async function restrictResponseModes(ctx: Context, next: Next): Promise<void> {
    if (ctx.path === '/.well-known/openid-configuration') {
      await next();
      const body = ctx.body as { response_modes_supported?: string[] } | undefined;
      if (body?.response_modes_supported) body.response_modes_supported = ALLOWED_RESPONSE_MODES;
      return;
    }
    const applies = paths.includes(ctx.path);
    const { response_type: responseType } = ctx.query;
    // Without response_mode, a response_type with a token defaults to the fragment (OAuth 2.0
    // §4.2.2.1): refused here too, or the error would land where a code-flow client never looks.
    if (applies && ctx.query.response_mode === undefined && typeof responseType === 'string' && responseType.includes('token')) {
      await pages.error(ctx, { error: 'unsupported_response_type', error_description: 'only response_type=code is supported' }, { status: 400 });
      ctx.status = 400;
      return;
    }
    const mode = applies ? ctx.query.response_mode : undefined;
    if (mode !== undefined && (typeof mode !== 'string' || !ALLOWED_RESPONSE_MODES.includes(mode))) {
      // Not redirected anywhere: the request itself is malformed, so the user sees the error here.
      await pages.error(ctx, { error: 'invalid_request', error_description: 'response_mode must be query or form_post' }, { status: 400 });
      ctx.status = 400;
      return;
    }
    await next();
  };
}
