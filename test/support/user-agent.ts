/**
 * A minimal cookie-keeping HTTP user agent: follows what a browser without JavaScript would,
 * one redirect at a time, so tests can drive login and consent forms programmatically.
 */
export class UserAgent {
  readonly cookies = new Map<string, string>();

  /** `fetchImpl`: another fetch (e.g. undici's, bound to a source address). */
  constructor(private readonly fetchImpl: (url: string, init: RequestInit) => Promise<Response> = fetch) {}

  private remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    url: string,
    init: {
      method?: string;
      form?: Record<string, string>;
      headers?: Record<string, string>;
      /** A cross-site form POST (another site's auto-submitting form): no SameSite=Lax cookies go with it. */
      crossSite?: boolean;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.cookies.size && !init.crossSite) headers.cookie = this.cookieHeader();
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await this.fetchImpl(url, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.remember(res);
    return res;
  }

  /** Follows redirects until one leaves `origin` (the RP's callback) or a page is returned. */
  async follow(
    url: string,
    origin: string,
    init: Parameters<UserAgent['request']>[1] = {},
  ): Promise<{ res: Response; url: string; html?: string }> {
    let res = await this.request(url, init);
    let current = url;
    for (let hops = 0; hops < 20; hops++) {
      const location = res.headers.get('location');
      if (!location || res.status < 300 || res.status >= 400) break;
      current = new URL(location, current).toString();
      if (!current.startsWith(origin)) return { res, url: current };
      res = await this.request(current);
    }
    const html = (res.headers.get('content-type') ?? '').includes('html') ? await res.text() : undefined;
    return { res, url: current, html };
  }
}

export function formAction(html: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!m) throw new Error('no form on page');
  return m[1]!.replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)));
}

export function hiddenField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no ${name} field on page`);
  return m[1]!;
}

const decodeEntities = (v: string) =>
  v
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/**
 * What a browser does with a page holding one auto-submitting POST form (`form_post` responses,
 * the SAML HTTP-POST binding): its action and every hidden field, entity-decoded.
 */
export function autoPostForm(html: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error('no POST form on page');
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
    fields[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
  return { action: decodeEntities(form[1]!), fields };
}
