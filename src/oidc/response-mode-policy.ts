import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { routesTo } from './route-path.js';

/** oidc-provider's discovery route (not configurable). */
const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** OAuth 2.1 with the code flow: responses go in the query or a form post, never the fragment. */
export const ALLOWED_RESPONSE_MODES = ['query', 'form_post'];

/** The mode oidc-provider would answer in: the explicit response_mode, else the response_type's default. */
function effectiveMode(params: Record<string, unknown> | undefined): string | undefined {
  if (!params) return undefined;
  if (typeof params.response_mode === 'string') return params.response_mode;
  const type = params.response_type;
  if (typeof type !== 'string') return undefined;
  // OAuth 2.0 Multiple Response Types §5: anything but `code` (and `none`) defaults to the fragment.
  return type === 'code' || type === 'none' ? 'query' : 'fragment';
}

/**
 * Refuses every response mode but query and form_post, decided inside oidc-provider's own
 * pipeline on the parameters it resolved (`ctx.oidc.params`: the query, a POSTed form, a request
 * object or a pushed request), so no spelling of the path and no way of passing the parameter
 * gets past it:
 * - the client check `responseModeAllowed` (run at /authorize and at PAR) says no to other modes
 *   for response_type=code — a pushed request with response_mode=fragment is refused at push time;
 * - a refused request whose answer would go to the fragment (response_mode=fragment, or
 *   response_type=token without a mode) is shown on our error page instead of being redirected
 *   where a code-flow client never looks;
 * - discovery lists only the allowed modes.
 */
export function restrictResponseModes(provider: Provider): void {
  type ClientProto = { responseModeAllowed(mode: string, type: string, fapi?: unknown): boolean };
  const proto = (provider.Client as unknown as { prototype: ClientProto }).prototype;
  const stock = proto.responseModeAllowed;
  proto.responseModeAllowed = function responseModeAllowed(this: ClientProto, mode, type, fapi) {
    // Any other response_type is refused by checkResponseType (only `code` is enabled), with a
    // clearer error; the listener below keeps that refusal out of the fragment.
    if (type === 'code' && !ALLOWED_RESPONSE_MODES.includes(mode)) return false;
    return stock.call(this, mode, type, fapi);
  };

  // Emitted synchronously right before oidc-provider decides between redirecting and rendering.
  provider.on('authorization.error', (ctx: KoaContextWithOIDC, err: { allow_redirect?: boolean }) => {
    const oidc = ctx.oidc as { params?: Record<string, unknown> } | undefined;
    const params = oidc?.params ?? (ctx.method === 'POST' ? undefined : (ctx.query as Record<string, unknown>));
    const mode = effectiveMode(params);
    if (mode !== undefined && !ALLOWED_RESPONSE_MODES.includes(mode)) err.allow_redirect = false;
  });

  // Only discovery is touched; every other request passes straight through.
  provider.use((ctx, next) => (routesTo(ctx.path, DISCOVERY_PATH) ? listAllowedModes(ctx, next) : next()));
  async function listAllowedModes(ctx: Parameters<Parameters<Provider['use']>[0]>[0], next: () => Promise<void>) {
    await next();
    if ((ctx as unknown as KoaContextWithOIDC).oidc?.route !== 'discovery') return;
    const body = ctx.body as { response_modes_supported?: string[] } | undefined;
    if (body?.response_modes_supported) body.response_modes_supported = ALLOWED_RESPONSE_MODES;
  }
}
