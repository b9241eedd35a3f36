// A real OpenID Provider (panva's oidc-provider, pinned by package-lock.json, unmodified) and a
// non-interactive relying party that gets ID tokens from it, for fulcio_oidc_provider.sh.
//
//   node op.mjs serve --port P [--clock-offset=SECONDS] [--sigstore-alg ES256|RS256]
//       Serves the OP at http://127.0.0.1:P (discovery, JWKS, /auth, /token, dev interactions)
//       until killed. Keys are made at start, a P-256 and an RSA 2048 one, both in the JWKS:
//       the `sigstore` client's ID tokens are signed with --sigstore-alg (default ES256), the
//       `not-sigstore` client's with the other algorithm.
//       --clock-offset runs the OP's clock that many seconds off (Date.now), so a negative
//       offset makes an OP whose tokens are already expired when issued: the only way to get
//       an expired token from it, since oidc-provider refuses a ttl that is not a positive
//       integer.
//
//   node op.mjs token --issuer URL --client ID --secret S --login EMAIL
//       Runs the authorization-code flow with PKCE against the OP by HTTP, as a browser and a
//       relying party would, through oidc-provider's development login and consent pages
//       (the dev interactions accept any login; the account id is the e-mail address), then
//       redeems the code at the token endpoint; prints the ID token.
//
// Resolves oidc-provider from the directory in $OIDC_PROVIDER_DIR (the npm ci install).

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // never contacted: the code is read off the redirect
const b64u = (b) => Buffer.from(b).toString('base64url');

async function serve({ port, 'clock-offset': offset, 'sigstore-alg': sigstoreAlg = 'ES256' }) {
  const shift = Number(offset ?? 0) * 1000;
  if (shift !== 0) {
    const realNow = Date.now;
    Date.now = () => realNow() + shift;
  }
  const dir = process.env.OIDC_PROVIDER_DIR;
  if (!dir) throw new Error('OIDC_PROVIDER_DIR is not set');
  const require = createRequire(join(dir, 'package.json'));
  const { default: Provider } = await import(require.resolve('oidc-provider'));

  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const issuer = `http://127.0.0.1:${port}`;
  const client = (id, alg) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
  });
  const provider = new Provider(issuer, {
    clients: [client('sigstore', sigstoreAlg), client('not-sigstore', sigstoreAlg === 'ES256' ? 'RS256' : 'ES256')],
    jwks: { keys: [{ ...ec, kid: 'op-es256', use: 'sig' }, { ...rsa, kid: 'op-rs256', use: 'sig' }] },
    cookies: { keys: [b64u(randomBytes(32))] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // Put the scope's claims (email, email_verified) in the ID token even though the code flow
    // also issues an access token, as the IdPs Sigstore clients use (e.g. Dex) do.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 300, Session: 600, Grant: 600 },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: `op-user-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`, email: id, email_verified: true };
        },
      };
    },
  });
  createServer(provider.callback()).listen(Number(port), '127.0.0.1', () => {
    console.error(`oidc-provider serving ${issuer} (clock offset ${shift / 1000}s, sigstore client ${sigstoreAlg})`);
  });
}

// A browser's cookie jar, just enough for the OP's interaction and session cookies.
class Jar {
  cookies = new Map();
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

async function token({ issuer, client, secret, login }) {
  const jar = new Jar();
  const go = async (url, init = {}) => {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie: jar.header() } });
    jar.take(res);
    return res;
  };
  const verifier = b64u(randomBytes(32));
  const auth = new URL(`${issuer}/auth`);
  auth.search = new URLSearchParams({
    client_id: client,
    response_type: 'code',
    scope: 'openid email',
    redirect_uri: REDIRECT_URI,
    state: b64u(randomBytes(8)),
    nonce: b64u(randomBytes(8)),
    code_challenge: b64u(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    prompt: 'login consent',
  }).toString();
  let url = auth.href;
  let code;
  for (let step = 0; step < 12 && !code; step++) {
    const res = await go(url);
    if (res.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
      // The dev interaction page: a login form, then a consent form, posting `prompt` back.
      const html = await res.text();
      const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
      if (prompt !== 'login' && prompt !== 'consent') throw new Error(`unexpected interaction page at ${url}`);
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
      const post = await go(url, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      if (post.status !== 303 && post.status !== 302) throw new Error(`${prompt} submit: HTTP ${post.status}: ${await post.text()}`);
      url = new URL(post.headers.get('location'), url).href;
      continue;
    }
    if (res.status !== 302 && res.status !== 303) throw new Error(`GET ${url}: HTTP ${res.status}: ${await res.text()}`);
    const next = new URL(res.headers.get('location'), url);
    if (next.href.startsWith(REDIRECT_URI)) {
      code = next.searchParams.get('code');
      if (!code) throw new Error(`authorization failed: ${next.search}`);
    }
    url = next.href;
  }
  if (!code) throw new Error('no authorization code after 12 steps');
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
  });
  const body = await res.json();
  if (!res.ok || !body.id_token) throw new Error(`token endpoint: HTTP ${res.status}: ${JSON.stringify(body)}`);
  process.stdout.write(`${body.id_token}\n`);
}

const [cmd, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    port: { type: 'string' },
    'clock-offset': { type: 'string' },
    'sigstore-alg': { type: 'string' },
    issuer: { type: 'string' },
    client: { type: 'string' },
    secret: { type: 'string' },
    login: { type: 'string' },
  },
});
const commands = { serve, token };
if (!commands[cmd]) {
  console.error('usage: op.mjs serve|token ...');
  process.exit(2);
}
commands[cmd](values).catch((e) => {
  console.error(`op.mjs ${cmd}: ${e.stack ?? e}`);
  process.exit(1);
});
