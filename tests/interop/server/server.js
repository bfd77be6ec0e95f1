// An operator as CAMARA's Security and Interoperability Profile describes it, built on a certified
// OpenID provider (oidc-provider, pinned in package.json) for the interop tests of our camara adapter
// (tests/interop, issue #24 item 6). Nobody on the project wrote the authorization server: only its
// configuration, the JWT Bearer grant (RFC 7523, which oidc-provider leaves to a custom grant) and a
// tiny KYC Match API below.
//
//   node server.js --port N --client-id ID --jwks FILE --subscribers FILE [flags]
//
// - the authorization server, issuer http://127.0.0.1:N: our client authenticates with private_key_jwt
//   against the public keys in --jwks; CIBA in poll mode (the backchannel decides at once: a subscriber
//   with "consent": true approves, one with false refuses, access_denied; an unknown login_hint is
//   unknown_user_id); the JWT Bearer grant; DPoP; introspection; opaque access tokens for the API;
// - the KYC Match API at /kyc-match/v0.4/match: introspects the token, checks its DPoP proof (signature,
//   typ, htm, htu, iat, jti replay, ath, the key's thumbprint against cnf.jkt, and camara:bh when
//   required) and answers a CAMARA match body from the subscriber's record;
// - GET /_interop/stats and POST /_interop/reset: what the servers saw and answered (error codes,
//   counts), never a token, an assertion or a phone number.
//
// Flags: --dpop-required (the client's dpop_bound_access_tokens: a token request without a proof is
// refused), --dpop-nonce-token, --dpop-nonce-api (a nonce is required at the token endpoint / at the
// API), --camara-bh (camara_dpop_claims_required ["camara:bh"] in discovery, enforced by the API),
// --aud-issuer (every assertion's aud must be the issuer identifier, a single string, as FAPI 2.0 and
// the draft successor of RFC 7523 require), --jwt-bearer-client-auth (the JWT Bearer grant requires
// client authentication; without it, as RFC 7523 §3.1 allows, the grant's assertion authenticates us).
//
// Prints `listening <base URL>` on stdout once it serves; stops on SIGTERM or SIGINT.

import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';
// Internals of the pinned oidc-provider that its own grants use: a custom grant gets only `ctx`.
import { applyDpopBinding } from 'oidc-provider/lib/helpers/grant_common.js';
import { resolveRequestedResources } from 'oidc-provider/lib/helpers/grant_authorization.js';
import { checkDpopRequired } from 'oidc-provider/lib/helpers/sender_constraints.js';
import validateDpop from 'oidc-provider/lib/helpers/validate_dpop.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CIBA = 'urn:openid:params:grant-type:ciba';
const MATCH_PATH = '/kyc-match/v0.4/match';
// A client registered with no authentication: a JWT Bearer request that carries none enters through it
// (oidc-provider authenticates every token request), and the grant then authenticates the caller by
// the assertion's signature against the real client's keys.
const UNAUTHENTICATED_JWT_BEARER = 'jwt-bearer-without-client-authentication';
const API_CLIENT = 'kyc-match-api'; // the API's own client, for introspection
const PROOF_WINDOW_SECONDS = 300; // the profile: iat within 300 s
const PROOF_ALGORITHMS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA'];

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    jwks: { type: 'string' },
    subscribers: { type: 'string' },
    purpose: { type: 'string', default: 'dpv:FraudPreventionAndDetection' },
    scope: { type: 'string', default: 'kyc-match:match' },
    'dpop-required': { type: 'boolean', default: false },
    'dpop-nonce-token': { type: 'boolean', default: false },
    'dpop-nonce-api': { type: 'boolean', default: false },
    'camara-bh': { type: 'boolean', default: false },
    'aud-issuer': { type: 'boolean', default: false },
    'jwt-bearer-client-auth': { type: 'boolean', default: false },
  },
  strict: true,
});
for (const required of ['port', 'client-id', 'jwks', 'subscribers']) {
  if (!opts[required]) {
    process.stderr.write(`--${required} is required\n`);
    process.exit(2);
  }
}

const port = Number(opts.port);
const issuer = `http://127.0.0.1:${port}`;
const tokenEndpoint = `${issuer}/token`;
const apiResource = `${issuer}/kyc-match`;
const clientId = opts['client-id'];
const clientJwks = JSON.parse(readFileSync(opts.jwks, 'utf8'));
const clientKeys = jose.createLocalJWKSet(clientJwks);
// {"tel:+34600000001": {"consent": true, "record": {"givenName": "Erika", ...}}, ...}
const subscribers = JSON.parse(readFileSync(opts.subscribers, 'utf8'));
const apiScopes = new Set([opts.purpose, ...opts.scope.split(' ')]);
const apiSecret = crypto.randomBytes(24).toString('base64url');
const apiNonce = crypto.randomBytes(16).toString('base64url');

const stats = newStats();
function newStats() {
  return {
    token_requests: {}, // grant (short name) -> count
    token_errors: [], // error codes answered by the token endpoint
    tokens_issued: [], // {grant, token_type}
    bc_authorize_requests: 0,
    bc_authorize_errors: [],
    ciba_decisions: [], // "approved" | "denied"
    introspections: 0,
    api_requests: 0,
    api_refusals: [], // {status, error, reason}
    api_answers: 0,
    api_proofs: [], // the claims names of each DPoP proof the API accepted, sorted
    assertion_audiences: [], // "issuer" | "token_endpoint" | "other": per assertion seen
  };
}
function reset() {
  Object.assign(stats, newStats());
}
const shortGrant = (grant) => ({ [JWT_BEARER]: 'jwt-bearer', [CIBA]: 'ciba' })[grant] ?? String(grant);

function audienceKind(aud) {
  if (aud === issuer) return 'issuer';
  if (aud === tokenEndpoint) return 'token_endpoint';
  if (aud === `${issuer}/backchannel`) return 'backchannel_endpoint';
  return Array.isArray(aud) ? 'list' : 'other';
}

const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'op-1' };

const noRedirects = { redirect_uris: [], response_types: [] };
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      ...noRedirects,
      grant_types: [CIBA, JWT_BEARER],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: clientJwks,
      backchannel_token_delivery_mode: 'poll',
      id_token_signed_response_alg: 'ES256',
      scope: ['openid', ...apiScopes].join(' '),
      dpop_bound_access_tokens: opts['dpop-required'],
    },
    {
      client_id: UNAUTHENTICATED_JWT_BEARER,
      ...noRedirects,
      id_token_signed_response_alg: 'ES256',
      grant_types: [JWT_BEARER],
      token_endpoint_auth_method: 'none',
      dpop_bound_access_tokens: opts['dpop-required'],
    },
    {
      client_id: API_CLIENT,
      client_secret: apiSecret,
      ...noRedirects,
      id_token_signed_response_alg: 'ES256',
      grant_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  scopes: ['openid', ...apiScopes],
  claims: { openid: ['sub'] },
  findAccount: (_ctx, id) => (subscribers[id] ? { accountId: id, claims: () => ({ sub: id }) } : undefined),
  routes: {
    token: '/token',
    backchannel_authentication: '/backchannel',
    introspection: '/token/introspection',
    jwks: '/jwks',
  },
  ttl: { AccessToken: 300, BackchannelAuthenticationRequest: 120, Grant: 300, IdToken: 300 },
  discovery: opts['camara-bh'] ? { camara_dpop_claims_required: ['camara:bh'] } : {},
  async assertJwtClientAuthClaimsAndHeader(ctx, claims) {
    stats.assertion_audiences.push(audienceKind(claims.aud));
    // The same rule oidc-provider applies in its FAPI 2.0 profile.
    if (opts['aud-issuer'] && claims.aud !== ctx.oidc.issuer) {
      throw new errors.InvalidClientAuth('audience (aud) must equal the issuer identifier url');
    }
  },
  features: {
    devInteractions: { enabled: false },
    dPoP: {
      enabled: true,
      nonceSecret: crypto.randomBytes(32),
      requireNonce: () => opts['dpop-nonce-token'],
    },
    introspection: {
      enabled: true,
      allowedPolicy: (_ctx, client) => client.clientId === API_CLIENT,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => apiResource,
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, resource) {
        if (resource !== apiResource) throw new errors.InvalidTarget();
        return { scope: [...apiScopes].join(' '), audience: apiResource, accessTokenFormat: 'opaque' };
      },
    },
    ciba: {
      enabled: true,
      deliveryModes: ['poll'],
      processLoginHint: (_ctx, loginHint) => (subscribers[loginHint] ? loginHint : undefined),
      validateBindingMessage: async () => {},
      validateRequestContext: async () => {},
      verifyUserCode: async () => {},
      async triggerAuthenticationDevice(_ctx, request, account, client) {
        // The subscriber's device answers at once, so the first poll finds the decision.
        if (!subscribers[account.accountId].consent) {
          stats.ciba_decisions.push('denied');
          await provider.backchannelResult(request, new errors.AccessDenied('the subscriber refused'));
          return;
        }
        const grant = new provider.Grant({ clientId: client.clientId, accountId: account.accountId });
        grant.addOIDCScope('openid');
        const wanted = request.scope.split(' ').filter((scope) => apiScopes.has(scope));
        grant.addResourceScope(apiResource, wanted.join(' '));
        await grant.save();
        stats.ciba_decisions.push('approved');
        await provider.backchannelResult(request, grant);
      },
    },
  },
});

// RFC 7523 §2.1 and §3, as CAMARA profiles it: iss = our client id, sub = tel:+E164, aud = the token
// endpoint or the issuer (only the issuer with --aud-issuer), exp, a jti never seen before, the scope
// claim naming the purpose, signed with one of the client's registered keys.
// Refusals carry a description, as oidc-provider's own errors.CustomOIDCProviderError lets a custom
// grant say (its InvalidGrant always says "grant request is invalid"): it names the assertion's fault
// or the subscriber's refusal, never a value.
const grantRefused = (description) => new errors.CustomOIDCProviderError('invalid_grant', description);

async function jwtBearerGrant(ctx) {
  stats.token_requests['jwt-bearer'] = (stats.token_requests['jwt-bearer'] ?? 0) + 1;
  const { assertion } = ctx.oidc.params;
  if (!assertion) throw new errors.InvalidRequest('missing required parameter(s) (assertion)');
  const dPoP = await validateDpop(provider, ctx);
  try {
    stats.assertion_audiences.push(audienceKind(jose.decodeJwt(assertion).aud)); // before any check
  } catch {
    stats.assertion_audiences.push('unreadable');
  }
  let claims;
  try {
    ({ payload: claims } = await jose.jwtVerify(assertion, clientKeys, {
      algorithms: ['ES256'],
      issuer: clientId,
      audience: opts['aud-issuer'] ? issuer : [issuer, tokenEndpoint],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      clockTolerance: 5,
    }));
  } catch (error) {
    throw grantRefused(`the assertion is not valid (${error.code ?? 'unreadable'})`);
  }
  if (opts['aud-issuer'] && claims.aud !== issuer) {
    throw grantRefused('the assertion audience must be the issuer identifier alone');
  }
  const door = ctx.oidc.client.clientId;
  if (door !== UNAUTHENTICATED_JWT_BEARER && door !== claims.iss) {
    throw grantRefused('the assertion was issued by another client');
  }
  if (!(await provider.ReplayDetection.unique(claims.iss, claims.jti, claims.exp + 5))) {
    throw grantRefused('the assertion was used before');
  }
  const subscriber = subscribers[claims.sub];
  if (!subscriber) throw grantRefused('unknown subject');
  const wanted = String(claims.scope ?? ctx.oidc.params.scope ?? '').split(' ').filter(Boolean);
  if (!wanted.includes(opts.purpose) || wanted.some((scope) => !apiScopes.has(scope))) {
    throw new errors.InvalidScope('the scope must name the purpose and API scopes only');
  }
  if (!subscriber.consent) {
    // CAMARA's JWT Bearer error table: invalid_grant, "there is no consent from the user".
    throw grantRefused('the subscriber has not consented to this purpose');
  }
  checkDpopRequired(provider, ctx, dPoP);
  const client = await provider.Client.find(claims.iss);
  const token = new provider.AccessToken({ accountId: claims.sub, client, gty: 'jwt_bearer', scope: wanted.join(' ') });
  const [resourceServer] = await resolveRequestedResources(provider, ctx);
  token.resourceServer = resourceServer;
  await applyDpopBinding(provider, ctx, dPoP, token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    token_type: token.tokenType,
    expires_in: token.expiration,
    scope: token.scope,
  };
}
provider.registerGrantType(JWT_BEARER, jwtBearerGrant, ['assertion', 'scope']);

provider.on('access_token.saved', (token) => {
  stats.tokens_issued.push({ grant: token.gty === 'jwt_bearer' ? 'jwt-bearer' : token.gty, token_type: token.tokenType });
});
provider.on('grant.success', (ctx) => {
  const grant = shortGrant(ctx.oidc.params.grant_type);
  if (grant !== 'jwt-bearer') stats.token_requests[grant] = (stats.token_requests[grant] ?? 0) + 1;
});
provider.on('grant.error', (ctx, error) => {
  const grant = shortGrant(ctx.oidc.params?.grant_type);
  if (grant !== 'jwt-bearer') stats.token_requests[grant] = (stats.token_requests[grant] ?? 0) + 1;
  stats.token_errors.push(error.error);
});
provider.on('backchannel_authentication.error', (_ctx, error) => {
  stats.bc_authorize_errors.push(error.error);
});
provider.on('server_error', (_ctx, error) => process.stderr.write(`server_error: ${error.stack}\n`));

// -- the KYC Match API

const b64sha256 = (data) => crypto.createHash('sha256').update(data).digest('base64url');
const seenProofs = new Map(); // jti -> expiry (epoch seconds): replay cache

async function introspect(token) {
  stats.introspections += 1;
  const reply = await fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${API_CLIENT}:${apiSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ token }).toString(),
  });
  if (!reply.ok) throw new Error(`introspection answered ${reply.status}`);
  return reply.json();
}

class Refusal extends Error {
  constructor(status, headers, body, reason) {
    super(reason);
    Object.assign(this, { status, headers, body, reason });
  }
}

function dpopRefusal(error, reason, extra = {}) {
  return new Refusal(401, { 'www-authenticate': `DPoP error="${error}", algs="${PROOF_ALGORITHMS.join(' ')}"`, ...extra },
    { status: 401, code: 'UNAUTHENTICATED', message: reason }, reason);
}

function tokenRefusal(scheme, reason) {
  return new Refusal(401, { 'www-authenticate': `${scheme} error="invalid_token"` },
    { status: 401, code: 'UNAUTHENTICATED', message: reason }, reason);
}

async function checkProof(proof, { token, url, method, jkt, body }) {
  if (!proof) throw dpopRefusal('invalid_dpop_proof', 'no DPoP proof');
  let payload;
  let protectedHeader;
  try {
    ({ payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: PROOF_ALGORITHMS,
    }));
  } catch (error) {
    throw dpopRefusal('invalid_dpop_proof', `proof not verified (${error.code ?? 'unreadable'})`);
  }
  const now = Math.floor(Date.now() / 1000);
  const target = new URL(String(payload.htu ?? ''), 'invalid:/');
  target.search = '';
  target.hash = '';
  const problems = [
    [typeof payload.jti !== 'string' || !payload.jti, 'jti missing'],
    [typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > PROOF_WINDOW_SECONDS, 'iat outside the window'],
    [payload.htm !== method, 'htm mismatch'],
    [target.href !== url, 'htu mismatch'],
    [payload.ath !== b64sha256(token), 'ath mismatch'],
    [(await jose.calculateJwkThumbprint(protectedHeader.jwk)) !== jkt, 'key is not the one the token is bound to'],
    [opts['camara-bh'] && payload['camara:bh'] !== b64sha256(body), 'camara:bh missing or not the body\'s hash'],
  ];
  for (const [failed, reason] of problems) {
    if (failed) throw dpopRefusal('invalid_dpop_proof', reason);
  }
  if (opts['dpop-nonce-api'] && payload.nonce !== apiNonce) {
    throw dpopRefusal('use_dpop_nonce', 'a nonce is required', { 'dpop-nonce': apiNonce });
  }
  for (const [jti, expiry] of seenProofs) if (expiry < now) seenProofs.delete(jti);
  if (seenProofs.has(payload.jti)) throw dpopRefusal('invalid_dpop_proof', 'jti replayed');
  seenProofs.set(payload.jti, now + PROOF_WINDOW_SECONDS);
  stats.api_proofs.push(Object.keys(payload).sort());
}

function verdicts(request, record) {
  const answer = {};
  for (const [name, value] of Object.entries(request)) {
    if (name === 'phoneNumber') continue;
    if (!(name in record)) answer[`${name}Match`] = 'not_available';
    else answer[`${name}Match`] = String(value).toLowerCase() === String(record[name]).toLowerCase() ? 'true' : 'false';
  }
  return answer;
}

async function kycMatch(req, body) {
  const url = `${issuer}${new URL(req.url, issuer).pathname}`;
  if (req.method !== 'POST' || new URL(req.url, issuer).pathname !== MATCH_PATH) {
    throw new Refusal(404, {}, { status: 404, code: 'NOT_FOUND', message: 'no such API' }, 'not found');
  }
  const [scheme = '', token = ''] = (req.headers.authorization ?? '').split(' ');
  const presented = scheme.toLowerCase();
  if (!token || !['bearer', 'dpop'].includes(presented)) throw tokenRefusal('Bearer', 'no access token');
  const info = await introspect(token);
  if (!info.active) throw tokenRefusal(scheme, 'token not active');
  const jkt = info.cnf?.jkt;
  if (jkt) {
    if (presented !== 'dpop') throw tokenRefusal('DPoP', 'a DPoP-bound token presented as Bearer');
    await checkProof(req.headers.dpop, { token, url, method: req.method, jkt, body });
  } else if (presented === 'dpop' || opts['dpop-required']) {
    throw tokenRefusal('Bearer', 'the token is not DPoP-bound');
  }
  const granted = new Set(String(info.scope ?? '').split(' '));
  if (![...apiScopes].every((scope) => granted.has(scope))) {
    throw new Refusal(403, { 'www-authenticate': `${scheme} error="insufficient_scope"` },
      { status: 403, code: 'PERMISSION_DENIED', message: 'insufficient scope' }, 'insufficient scope');
  }
  let request;
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal(400, {}, { status: 400, code: 'INVALID_ARGUMENT', message: 'not JSON' }, 'not JSON');
  }
  if (request.phoneNumber !== undefined && `tel:${request.phoneNumber}` !== info.sub) {
    throw new Refusal(403, {}, { status: 403, code: 'INVALID_TOKEN_CONTEXT', message: 'not the token\'s subscriber' },
      'phoneNumber is not the token subject');
  }
  return verdicts(request, subscribers[info.sub]?.record ?? {});
}

function send(res, status, headers, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readAll(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const providerCallback = provider.callback();
const server = createServer(async (req, res) => {
  try {
    const { pathname } = new URL(req.url, issuer);
    if (pathname.startsWith('/kyc-match/')) {
      const body = await readAll(req);
      stats.api_requests += 1;
      try {
        const answer = await kycMatch(req, body);
        stats.api_answers += 1;
        send(res, 200, { 'x-correlator': req.headers['x-correlator'] ?? '' }, answer);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        const code = /error="([^"]+)"/.exec(error.headers['www-authenticate'] ?? '')?.[1] ?? error.body.code;
        stats.api_refusals.push({ status: error.status, error: code, reason: error.reason });
        send(res, error.status, error.headers, error.body);
      }
      return;
    }
    if (pathname === '/_interop/stats' && req.method === 'GET') return send(res, 200, {}, stats);
    if (pathname === '/_interop/reset' && req.method === 'POST') {
      reset();
      return send(res, 200, {}, { reset: true });
    }
    if (pathname === '/backchannel' && req.method === 'POST') stats.bc_authorize_requests += 1;
    if (pathname === '/token' && req.method === 'POST') {
      // Read here, so a JWT Bearer request without client authentication can name the door it
      // enters by (see UNAUTHENTICATED_JWT_BEARER); oidc-provider then reads req.body.
      const form = new URLSearchParams((await readAll(req)).toString('utf8'));
      const unauthenticated = !form.has('client_assertion') && !form.has('client_id') && !req.headers.authorization;
      if (form.get('grant_type') === JWT_BEARER && unauthenticated && !opts['jwt-bearer-client-auth']) {
        form.set('client_id', UNAUTHENTICATED_JWT_BEARER);
      }
      req.body = form.toString();
    }
    return providerCallback(req, res);
  } catch (error) {
    process.stderr.write(`interop server: ${error.stack}\n`);
    if (!res.headersSent) send(res, 500, {}, { status: 500, code: 'INTERNAL', message: 'interop server error' });
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    // Everything is in memory: nothing to flush, so no wait for idle keep-alive connections.
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
