import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/project-paths.js';

const run = promisify(execFile);

/**
 * Runs `body` in a fresh Node process (tsx, as the tests run the source) after importing the
 * server's composition root, and returns what it prints: which SAML packages are loaded by then.
 */
async function inFreshProcess(body: string): Promise<string> {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const samlLoaded = () =>
      ['samlify', 'xml-crypto', '@peculiar/asn1-x509'].filter((name) =>
        Object.keys(require.cache).some((file) => file.includes('/node_modules/' + name + '/')));
    await import('./src/app.ts');
    ${body}
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    timeout: 60_000,
  });
  return stdout.trim();
}

const IDP_METADATA = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`;

describe('SAML support is loaded on first use', () => {
  it('loading the server loads no SAML library; the first SAML call loads it and answers', async () => {
    const out = await inFreshProcess(`
      console.log(JSON.stringify(samlLoaded()));
      const { LazySamlServiceProvider } = await import('./src/federation/lazy-saml-service-provider.ts');
      const saml = new LazySamlServiceProvider();
      // Reading an InResponseTo is plain text work: still nothing loaded.
      const peeked = saml.peekInResponseTo(Buffer.from('<samlp:Response InResponseTo="_abc">').toString('base64'));
      console.log(JSON.stringify([peeked, samlLoaded()]));
      const problem = await saml.checkIdpMetadata(${JSON.stringify(IDP_METADATA)});
      console.log(JSON.stringify([problem, samlLoaded()]));
    `);
    const [atStart, afterPeek, afterCheck] = out.split('\n').map((line) => JSON.parse(line));
    assert.deepEqual(atStart, [], 'no SAML package loaded with the server');
    assert.deepEqual(afterPeek, ['_abc', []]);
    assert.equal(afterCheck[0], 'no signing certificate (KeyDescriptor use="signing")');
    assert.ok(afterCheck[1].includes('samlify'), `loaded after the first SAML call: ${afterCheck[1]}`);
  });
});
