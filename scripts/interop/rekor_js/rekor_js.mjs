// Drives sigstore-js (the `sigstore` library, @sigstore/verify; pinned and unmodified) against
// a live `sigstack rekor` (+ fulcio, ctlog, tsa). Used by scripts/interop/rekor_js.sh; run
// from the installed node_modules (SIGSTORE_JS_DIR). Exits 0 on success, 1 with a reason on
// stderr otherwise.
//
//   node rekor_js.mjs trust  --root root.pem --ct-key ct.pem --ct-url URL --fulcio-url URL
//                            --rekor-url URL --tsa-url URL --out trusted_root.json
//                            [--decoy-out FILE]
//   node rekor_js.mjs sign   --fulcio-url URL --rekor-url URL [--tsa-url URL] --token FILE
//                            --artifact FILE --out bundle.json
//   node rekor_js.mjs attest --fulcio-url URL --rekor-url URL [--tsa-url URL] --token FILE
//                            --payload FILE --payload-type TYPE --out bundle.json
//   node rekor_js.mjs inspect --bundle FILE --kind K --version V --rekor-url URL [--tsa 1]
//   node rekor_js.mjs verify --bundle FILE --trusted-root FILE [--artifact FILE] --email E
//                            --issuer ISS [--tsa 1] [--expect-fail CODE[,CODE...]]
//   node rekor_js.mjs tamper --bundle FILE --what signature|payload|set|checkpoint-root|proof-root|proof-hash
//                            --out FILE
//
// trust:   trusted_root.json for OUR instance: Fulcio root, CT log key (logId = SHA-256 of the
//          DER SPKI), Rekor v1 key from GET /api/v1/log/publicKey (same logId rule), TSA chain
//          from GET /api/v1/timestamp/certchain. --decoy-out: the same with another Rekor key.
// sign:    sigstore.sign(data, {fulcioURL, rekorURL, identityToken[, tsaServerURL]}).
// attest:  sigstore.attest(payload, payloadType, {...}).
// inspect: the bundle's single tlog entry: kind/version, logIndex, logId = our key, SET,
//          inclusion proof with checkpoint; the body is the entry in our log (GET by logIndex);
//          with --tsa, one RFC 3161 timestamp.
// verify:  what sigstore.verify does after fetching the trusted root over TUF, without TUF:
//          toTrustMaterial(TrustedRoot.fromJSON(root)) + new Verifier(...).verify(
//          toSignedEntity(bundleFromJSON(b), data), {subjectAlternativeName, extensions.issuer}).
//          With --expect-fail, succeeds only if verification throws a VerificationError (with one
//          of the codes, if given).
// tamper:  a copy of the bundle with one byte flipped in the named field.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.SIGSTORE_JS_DIR;
if (!dir) fail('SIGSTORE_JS_DIR is not set');
// Resolve everything the way the `sigstore` library resolves its own dependencies, so that the
// verifier is fed exactly the types sigstore.verify() would feed it.
const requireSigstore = createRequire(createRequire(path.join(dir, 'package.json')).resolve('sigstore/package.json'));
const sigstore = requireSigstore('sigstore');
const { bundleFromJSON } = requireSigstore('@sigstore/bundle');
const { TrustedRoot } = requireSigstore('@sigstore/protobuf-specs');
const verify = requireSigstore('@sigstore/verify');

function fail(msg) {
  console.error(`rekor_js: ${msg}`);
  process.exit(1);
}

function args() {
  const out = {};
  const a = process.argv.slice(3);
  for (let i = 0; i < a.length; i += 2) out[a[i].replace(/^--/, '')] = a[i + 1];
  return out;
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const spkiDer = (pem) => crypto.createPublicKey(pem).export({ format: 'der', type: 'spki' });
const pemCerts = (text) =>
  [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
    (m) => new crypto.X509Certificate(m[0]),
  );

async function get(url) {
  const r = await fetch(url);
  if (!r.ok) fail(`GET ${url}: HTTP ${r.status}: ${await r.text()}`);
  return r;
}

function keyDetails(der) {
  const k = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails.namedCurve === 'prime256v1') return 'PKIX_ECDSA_P256_SHA_256';
  if (k.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  fail(`unexpected key type ${k.asymmetricKeyType} ${JSON.stringify(k.asymmetricKeyDetails)}`);
}

function tlogInstance(baseUrl, der, start) {
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(der), keyDetails: keyDetails(der), validFor: { start } },
    logId: { keyId: b64(crypto.createHash('sha256').update(der).digest()) },
  };
}

async function cmdTrust(o) {
  const root = new crypto.X509Certificate(fs.readFileSync(o.root));
  const start = new Date(Date.parse(root.validFrom)).toISOString();
  const rekorPem = await (await get(`${o['rekor-url']}/api/v1/log/publicKey`)).text();
  const rekorDer = spkiDer(rekorPem);
  const tsaChain = pemCerts(await (await get(`${o['tsa-url']}/api/v1/timestamp/certchain`)).text());
  if (tsaChain.length < 2) fail(`TSA chain has ${tsaChain.length} certificates, expected at least 2`);
  const tsaStart = new Date(Math.min(...tsaChain.map((c) => Date.parse(c.validFrom)))).toISOString();
  const trusted = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [tlogInstance(o['rekor-url'], rekorDer, start)],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstack interop', commonName: 'sigstack interop fulcio root' },
        uri: o['fulcio-url'],
        certChain: { certificates: [{ rawBytes: b64(root.raw) }] },
        validFor: { start },
      },
    ],
    ctlogs: [tlogInstance(o['ct-url'], spkiDer(fs.readFileSync(o['ct-key'])), start)],
    timestampAuthorities: [
      {
        subject: { organization: 'sigstack', commonName: tsaChain[0].subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) || 'tsa' },
        uri: o['tsa-url'],
        certChain: { certificates: tsaChain.map((c) => ({ rawBytes: b64(c.raw) })) },
        validFor: { start: tsaStart },
      },
    ],
  };
  // What the library will see: must parse as a TrustedRoot and become trust material.
  verify.toTrustMaterial(TrustedRoot.fromJSON(trusted));
  fs.writeFileSync(o.out, JSON.stringify(trusted, null, 1));
  if (o['decoy-out']) {
    // The same root, but another key under our Rekor's logId: SETs and checkpoints must fail.
    const decoy = structuredClone(trusted);
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    decoy.tlogs[0].publicKey.rawBytes = b64(publicKey.export({ format: 'der', type: 'spki' }));
    fs.writeFileSync(o['decoy-out'], JSON.stringify(decoy, null, 1));
  }
  console.error(
    `trusted root: rekor logId ${trusted.tlogs[0].logId.keyId} (${trusted.tlogs[0].publicKey.keyDetails}), ` +
      `TSA chain ${tsaChain.map((c) => c.subject.replace(/\n/g, ',')).join(' <- ')}`,
  );
}

function signOptions(o) {
  const opts = {
    fulcioURL: o['fulcio-url'],
    rekorURL: o['rekor-url'],
    identityToken: fs.readFileSync(o.token, 'utf8').trim(),
  };
  if (o['tsa-url']) opts.tsaServerURL = o['tsa-url'];
  return opts;
}

async function cmdSign(o) {
  const t0 = performance.now();
  const bundle = await sigstore.sign(fs.readFileSync(o.artifact), signOptions(o));
  console.error(`sigstore.sign: ${(performance.now() - t0).toFixed(0)} ms, ${bundle.mediaType}`);
  fs.writeFileSync(o.out, JSON.stringify(bundle));
}

async function cmdAttest(o) {
  const t0 = performance.now();
  const bundle = await sigstore.attest(fs.readFileSync(o.payload), o['payload-type'], signOptions(o));
  console.error(`sigstore.attest: ${(performance.now() - t0).toFixed(0)} ms, ${bundle.mediaType}`);
  fs.writeFileSync(o.out, JSON.stringify(bundle));
}

async function cmdInspect(o) {
  const bundle = JSON.parse(fs.readFileSync(o.bundle, 'utf8'));
  const vm = bundle.verificationMaterial;
  const entries = vm?.tlogEntries || [];
  if (entries.length !== 1) fail(`${entries.length} tlog entries, expected 1`);
  const e = entries[0];
  const kv = `${e.kindVersion?.kind} ${e.kindVersion?.version}`;
  if (kv !== `${o.kind} ${o.version}`) fail(`kindVersion ${kv}, expected ${o.kind} ${o.version}`);
  // Protobuf JSON (bundleToJSON) leaves out int64 fields equal to 0: index 0 has no logIndex.
  const logIndex = e.logIndex ?? '0';
  if (!/^\d+$/.test(logIndex)) fail(`logIndex ${JSON.stringify(e.logIndex)}`);
  if (!e.inclusionPromise?.signedEntryTimestamp) fail('no SET (inclusionPromise.signedEntryTimestamp)');
  const p = e.inclusionProof;
  if (!p) fail('no inclusionProof');
  if ((p.logIndex ?? '0') !== logIndex) {
    // Sharded logs: the proof's index is within the shard, the entry's is global.
    console.error(`note: inclusionProof.logIndex ${p.logIndex ?? '0'} != logIndex ${logIndex}`);
  }
  if (!p.rootHash || !/^\d+$/.test(p.treeSize ?? '')) fail(`inclusionProof ${JSON.stringify(p)}`);
  if (!p.checkpoint?.envelope) fail('inclusionProof has no checkpoint');
  const cpLines = p.checkpoint.envelope.split('\n');
  if (cpLines[1] !== p.treeSize || Buffer.from(cpLines[2], 'base64').toString('hex') !== Buffer.from(p.rootHash, 'base64').toString('hex'))
    fail(`checkpoint (${cpLines.slice(0, 3).join(' | ')}) does not match the proof (size ${p.treeSize}, root ${p.rootHash})`);

  const key = spkiDer(await (await get(`${o['rekor-url']}/api/v1/log/publicKey`)).text());
  const logId = crypto.createHash('sha256').update(key).digest();
  if (Buffer.from(e.logId.keyId, 'base64').compare(logId) !== 0) fail(`logId ${e.logId.keyId} is not our Rekor's key`);
  const body = JSON.parse(Buffer.from(e.canonicalizedBody, 'base64').toString('utf8'));
  if (body.kind !== o.kind || body.apiVersion !== o.version) fail(`body is ${body.kind} ${body.apiVersion}`);

  // The entry is in our log, with the same body.
  const r = await (await get(`${o['rekor-url']}/api/v1/log/entries?logIndex=${logIndex}`)).json();
  const [uuid, stored] = Object.entries(r)[0] || [];
  if (!stored || stored.body !== e.canonicalizedBody) fail(`GET entry ${logIndex}: body differs from the bundle's`);
  const leaf = crypto.createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(e.canonicalizedBody, 'base64')])).digest('hex');
  if (!uuid.endsWith(leaf)) fail(`entry UUID ${uuid} does not end with the leaf hash ${leaf}`);

  const ts = vm.timestampVerificationData?.rfc3161Timestamps || [];
  if (o.tsa && ts.length !== 1) fail(`${ts.length} RFC 3161 timestamps, expected 1`);
  if (!o.tsa && ts.length !== 0) fail(`${ts.length} RFC 3161 timestamps, expected none`);
  console.error(
    `${o.bundle}: ${kv}, logIndex ${logIndex}, integratedTime ${e.integratedTime}, tree size ${p.treeSize}, ` +
      `${p.hashes?.length ?? 0} proof hashes, SET, checkpoint "${cpLines[0]}"` + (ts.length ? `, ${ts.length} RFC 3161 timestamp` : ''),
  );
}

function doVerify(o) {
  const root = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(o['trusted-root'], 'utf8')));
  const trust = verify.toTrustMaterial(root);
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(o.bundle, 'utf8')));
  const data = o.artifact ? fs.readFileSync(o.artifact) : undefined;
  const entity = verify.toSignedEntity(bundle, data);
  if (o.tsa && !entity.timestamps.some((t) => t.$case === 'timestamp-authority')) fail('no RFC 3161 timestamp in the bundle');
  // With --tsa, demand the RFC 3161 timestamp be verified on top of the tlog's.
  const verifier = new verify.Verifier(trust, o.tsa ? { timestampThreshold: 2 } : {});
  const policy = { subjectAlternativeName: o.email, extensions: { issuer: o.issuer } };
  return verifier.verify(entity, policy);
}

function cmdVerify(o) {
  if (o['expect-fail'] === undefined) {
    const signer = doVerify(o);
    console.error(`verified: signer ${signer.identity?.subjectAlternativeName}, issuer ${signer.identity?.extensions?.issuer}`);
    return;
  }
  let err;
  try {
    doVerify(o);
  } catch (e) {
    err = e;
  }
  if (!err) fail('verification succeeded, expected a rejection');
  console.error(`rejected: ${err.name} ${err.code}: ${err.message}`);
  // @sigstore/verify throws VerificationError, or PolicyError for the identity policy.
  if (!(err instanceof verify.VerificationError || err instanceof verify.PolicyError)) fail(`not a verification error: ${err.stack}`);
  const codes = o['expect-fail'] ? o['expect-fail'].split(',') : [];
  if (codes.length && !codes.includes(err.code)) fail(`code ${err.code}, expected one of ${codes.join(', ')}`);
}

function flip(b64str, at) {
  const buf = Buffer.from(b64str, 'base64');
  buf[at ?? buf.length >> 1] ^= 0x01;
  return buf.toString('base64');
}

function cmdTamper(o) {
  const b = JSON.parse(fs.readFileSync(o.bundle, 'utf8'));
  const e = b.verificationMaterial.tlogEntries[0];
  switch (o.what) {
    case 'signature':
      if (b.messageSignature) b.messageSignature.signature = flip(b.messageSignature.signature);
      else b.dsseEnvelope.signatures[0].sig = flip(b.dsseEnvelope.signatures[0].sig);
      break;
    case 'payload': // the DSSE payload (the attested statement)
      b.dsseEnvelope.payload = flip(b.dsseEnvelope.payload);
      break;
    case 'set':
      e.inclusionPromise.signedEntryTimestamp = flip(e.inclusionPromise.signedEntryTimestamp);
      break;
    case 'proof-root': // the inclusionProof.rootHash field
      e.inclusionProof.rootHash = flip(e.inclusionProof.rootHash);
      break;
    case 'checkpoint-root': { // the root hash line of the signed checkpoint
      const lines = e.inclusionProof.checkpoint.envelope.split('\n');
      lines[2] = flip(lines[2]);
      e.inclusionProof.checkpoint.envelope = lines.join('\n');
      break;
    }
    case 'both-roots': { // the rootHash field and the checkpoint's root hash line, consistently
      e.inclusionProof.rootHash = flip(e.inclusionProof.rootHash);
      const lines = e.inclusionProof.checkpoint.envelope.split('\n');
      lines[2] = flip(lines[2]);
      e.inclusionProof.checkpoint.envelope = lines.join('\n');
      break;
    }
    case 'proof-hash':
      if (!e.inclusionProof.hashes?.length) fail('the inclusion proof has no hashes to tamper with');
      e.inclusionProof.hashes[0] = flip(e.inclusionProof.hashes[0]);
      break;
    default:
      fail(`unknown field ${o.what}`);
  }
  fs.writeFileSync(o.out, JSON.stringify(b));
}

const cmds = { trust: cmdTrust, sign: cmdSign, attest: cmdAttest, inspect: cmdInspect, verify: cmdVerify, tamper: cmdTamper };
const cmd = cmds[process.argv[2]];
if (!cmd) fail(`usage: ${Object.keys(cmds).join('|')} --options`);
Promise.resolve()
  .then(() => cmd(args()))
  .catch((e) => fail(`${process.argv[2]}: ${e?.stack || e}${e?.cause ? `\ncause: ${e.cause?.stack || e.cause}` : ''}`));
