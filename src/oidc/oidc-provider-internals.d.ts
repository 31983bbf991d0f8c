// oidc-provider's own auto-submitting form page (used for form_post responses and for a logout
// without a session); the package has no exports map, so the module is reachable as a file.
declare module 'oidc-provider/lib/response_modes/form_post.js' {
  export default function formPost(ctx: unknown, action: string, inputs: Record<string, string>): void;
}
