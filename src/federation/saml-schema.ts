import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { validateXML } from 'xmllint-wasm';

/**
 * XML Schema validation of SAML messages with xmllint (WebAssembly, in a worker thread), against
 * the SAML 2.0 protocol/assertion, XML-DSig and XML-Enc schemas shipped with
 * @authenio/samlify-xmllint-wasm (read once and cached; that package's own `validate` logs and
 * re-reads them on every call, so it is not used).
 */
const SCHEMAS = [
  'saml-schema-protocol-2.0.xsd',
  'datatypes.dtd',
  'saml-schema-assertion-2.0.xsd',
  'xmldsig-core-schema.xsd',
  'XMLSchema.dtd',
  'xenc-schema.xsd',
];

type SchemaFile = { fileName: string; contents: string };
let loaded: Promise<{ schema: SchemaFile; preload: SchemaFile[] }> | undefined;

function schemas() {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve('@authenio/samlify-xmllint-wasm/package.json')), 'schemas');
    const files = await Promise.all(
      SCHEMAS.map(async (fileName) => ({ fileName, contents: await readFile(join(dir, fileName), 'utf8') })),
    );
    return { schema: files[0]!, preload: files.slice(1) };
  })();
  return loaded;
}

/** Thrown for a message that is not schema-valid (the validator's messages stay out of it). */
export class SchemaInvalid extends Error {
  constructor() {
    super('ERR_SAML_SCHEMA');
  }
}

/** Resolves when `xml` is a schema-valid SAML protocol message; SchemaInvalid otherwise. */
export async function validateSamlXml(xml: string): Promise<true> {
  const { schema, preload } = await schemas();
  const result = await validateXML({
    xml: [{ fileName: 'message.xml', contents: xml }],
    extension: 'schema',
    schema: [schema],
    preload,
  }).catch(() => undefined);
  if (!result?.valid) throw new SchemaInvalid();
  return true;
}
