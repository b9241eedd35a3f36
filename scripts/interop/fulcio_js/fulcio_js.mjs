// Drives sigstore-js (@sigstore/sign, pinned and unmodified) against a live `sigstack fulcio`.
// Used by scripts/interop/fulcio_js.sh; run with NODE_PATH unset, from the installed
// node_modules (SIGSTORE_JS_DIR). Exits 0 on success, 1 with a reason on stderr otherwise.
//
//   node fulcio_js.mjs sign   --fulcio-url URL --token FILE --root root.pem --out DIR
//   node fulcio_js.mjs chain  --fulcio-url URL --token FILE --root root.pem
//   node fulcio_js.mjs refuse --fulcio-url URL --token FILE --expect TEXT
//
// sign:   public API: new FulcioSigner({fulcioBaseURL, identityProvider}).sign(data), then
//         MessageSignatureBundleBuilder({signer, witnesses: []}).create(); writes the leaf
//         certificates (PEM) to DIR for the SCT check done outside (sigstore-js does not verify
//         SCTs when it obtains a certificate).
// chain:  the CAClient that FulcioSigner uses (dist/signer/fulcio/ca.js, not re-exported),
//         to see the whole chain the server returns (FulcioSigner keeps only the leaf).
// refuse: sign() with a token Fulcio must refuse: InternalError, cause HTTPError 401, and the
//         server's message in the library's error.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.SIGSTORE_JS_DIR;
if (!dir) fail('SIGSTORE_JS_DIR is not set');
const require = createRequire(path.join(dir, 'package.json'));
const sign = require('@sigstore/sign');
const { CAClient } = require('@sigstore/sign/dist/signer/fulcio/ca.js');

const EMAIL = 'interop@sigstack.test';

function fail(msg) {
  console.error(`fulcio_js: ${msg}`);
  process.exit(1);
}

function args() {
  const out = {};
  const a = process.argv.slice(3);
  for (let i = 0; i < a.length; i += 2) out[a[i].replace(/^--/, '')] = a[i + 1];
  return out;
}

const provider = (file) => ({ getToken: async () => fs.readFileSync(file, 'utf8').trim() });

function checkLeaf(pemOrDer, root, what) {
  const leaf = new crypto.X509Certificate(pemOrDer);
  if (!leaf.checkIssued(root)) fail(`${what}: leaf issuer ${leaf.issuer} is not our root's subject`);
  if (!leaf.verify(root.publicKey)) fail(`${what}: leaf signature does not verify with our root's key`);
  if (leaf.subjectAltName !== `email:${EMAIL}`) fail(`${what}: SAN ${leaf.subjectAltName}, expected email:${EMAIL}`);
  if (leaf.ca) fail(`${what}: leaf is a CA certificate`);
  return leaf;
}

async function cmdSign(o) {
  const root = new crypto.X509Certificate(fs.readFileSync(o.root));
  const data = Buffer.from('sigstack fulcio-js interop\n');

  let t0 = performance.now();
  const signer = new sign.FulcioSigner({ fulcioBaseURL: o['fulcio-url'], identityProvider: provider(o.token) });
  const sig = await signer.sign(data);
  console.error(`FulcioSigner.sign: ${(performance.now() - t0).toFixed(0)} ms`);
  if (sig.key.$case !== 'x509Certificate') fail(`key material is ${sig.key.$case}, expected x509Certificate`);
  const leaf = checkLeaf(sig.key.certificate, root, 'FulcioSigner.sign');
  if (!crypto.verify('sha256', data, leaf.publicKey, sig.signature)) fail('signature does not verify with the leaf key');
  fs.writeFileSync(path.join(o.out, 'leaf-signer.pem'), leaf.toString());
  console.error(`FulcioSigner.sign: serial ${leaf.serialNumber}, ${leaf.subjectAltName}, valid ${leaf.validFrom} .. ${leaf.validTo}`);

  t0 = performance.now();
  const builder = new sign.MessageSignatureBundleBuilder({
    signer: new sign.FulcioSigner({ fulcioBaseURL: o['fulcio-url'], identityProvider: provider(o.token) }),
    witnesses: [],
  });
  const bundle = await builder.create({ data });
  console.error(`MessageSignatureBundleBuilder.create: ${(performance.now() - t0).toFixed(0)} ms, ${bundle.mediaType}`);
  const vm = bundle.verificationMaterial;
  const raw = vm.content.$case === 'certificate' ? vm.content.certificate.rawBytes : vm.content.x509CertificateChain?.certificates?.[0]?.rawBytes;
  if (!raw) fail(`bundle has no certificate: ${JSON.stringify(vm.content)}`);
  const leaf2 = checkLeaf(Buffer.from(raw), root, 'bundle');
  if (leaf2.serialNumber === leaf.serialNumber) fail('two sign() calls returned the same certificate');
  const msgSig = bundle.content.messageSignature;
  if (!crypto.verify('sha256', data, leaf2.publicKey, msgSig.signature)) fail('bundle signature does not verify with its certificate');
  fs.writeFileSync(path.join(o.out, 'leaf-bundle.pem'), leaf2.toString());
}

async function cmdChain(o) {
  const root = new crypto.X509Certificate(fs.readFileSync(o.root));
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const token = fs.readFileSync(o.token, 'utf8').trim();
  const sub = JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).email;
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString('ascii');
  const ca = new CAClient({ fulcioBaseURL: o['fulcio-url'] });
  const chain = await ca.createSigningCertificate(token, pem, crypto.sign('sha256', Buffer.from(sub), privateKey));
  if (!Array.isArray(chain) || chain.length !== 2) fail(`chain has ${chain?.length} certificates, expected [leaf, root]`);
  const leaf = checkLeaf(chain[0], root, 'CAClient');
  if (!new crypto.X509Certificate(chain[1]).raw.equals(root.raw)) fail('chain[1] is not our root');
  const got = leaf.publicKey.export({ format: 'der', type: 'spki' });
  if (!got.equals(publicKey.export({ format: 'der', type: 'spki' }))) fail('certificate is not for the requested key');
  console.error(`CAClient.createSigningCertificate: [leaf ${leaf.serialNumber}, root], key matches`);
}

async function cmdRefuse(o) {
  const signer = new sign.FulcioSigner({ fulcioBaseURL: o['fulcio-url'], identityProvider: provider(o.token) });
  let err;
  try {
    await signer.sign(Buffer.from('x'));
  } catch (e) {
    err = e;
  }
  if (!err) fail('sigstore-js obtained a certificate');
  const cause = err.cause;
  console.error(`sigstore-js rejected: ${err.name} code=${err.code} message=${JSON.stringify(err.message)}; ` +
    `cause ${cause?.constructor?.name} statusCode=${cause?.statusCode}`);
  if (!(err instanceof sign.InternalError)) fail(`not an InternalError: ${err}`);
  if (err.code !== 'CA_CREATE_SIGNING_CERTIFICATE_ERROR') fail(`code ${err.code}`);
  if (cause?.statusCode !== 401) fail(`HTTP status ${cause?.statusCode}, expected 401`);
  if (!err.message.includes('(401)')) fail(`message lacks the status: ${err.message}`);
  if (o.expect && !err.message.includes(o.expect)) fail(`message does not carry the server's text naming ${o.expect}`);
}

const cmds = { sign: cmdSign, chain: cmdChain, refuse: cmdRefuse };
const cmd = cmds[process.argv[2]];
if (!cmd) fail(`usage: ${Object.keys(cmds).join('|')} --options`);
cmd(args()).catch((e) => fail(`${process.argv[2]}: ${e?.stack || e}${e?.cause ? `\ncause: ${e.cause?.stack || e.cause}` : ''}`));
