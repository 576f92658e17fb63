import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatonClient, bearerError, attachAxios, SignedOutError, ResourceOriginError, OAuthError, AuthorizationError,
  RedirectCallbackError } from '../baton-client.js';
import { createHash } from 'node:crypto';

// fakeBaton answers the token endpoint and a protected API the way baton
// and its middleware do, counting refreshes.
function fakeBaton({ ttl = 60 } = {}) {
  const s = { refreshes: 0, apiCalls: 0, current: 'at-0', rt: 'rt-0', revoked: false, down: false, gen: 0,
    revokes: [], revokeStatus: 200, revokeDown: false, gate: null, log: [], codeRequests: [], codeError: null, idToken: null };
  s.fetch = async (input, init = {}) => {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    s.log.push(`${req.method} ${url.href} ${req.headers.get('Authorization') || '-'}`);
    if (url.pathname === '/oauth2/revoke') {
      // RFC 7009; like baton, revoking any token of the session ends it.
      if (s.revokeDown) throw new TypeError('network down');
      const form = new URLSearchParams(await req.text());
      s.revokes.push(Object.fromEntries(form));
      if (s.revokeStatus !== 200) return json(s.revokeStatus, { error: 'temporarily_unavailable' });
      s.revoked = true;
      return new Response(null, { status: 200 });
    }
    if (url.pathname === '/oauth2/token' && s.gate) { // the server answers; the answer is held
      const gate = s.gate;
      const resp = await s.token(req);
      s.answered();
      await gate;
      return resp;
    }
    if (url.pathname === '/oauth2/token') return s.token(req);
    s.apiCalls++;
    if (req.headers.get('Authorization') !== `Bearer ${s.current}`) {
      return new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="the access token expired"' } });
    }
    return json(200, { ok: true });
  };
  s.token = async (req) => {
    {
      if (s.down) throw new TypeError('network down');
      const form = new URLSearchParams(await req.text());
      await new Promise((r) => setTimeout(r, 10));
      if (form.get('grant_type') === 'password') {
        return json(200, { access_token: s.current, refresh_token: s.rt, expires_in: ttl, token_type: 'Bearer' });
      }
      if (form.get('grant_type') === 'authorization_code') {
        s.codeRequests.push(req.headers.get('Content-Type') + ' ' + [...form].map(([k, v]) => `${k}=${v}`).join('&'));
        if (s.codeError) return json(400, { error: s.codeError });
        return json(200, { access_token: s.current, refresh_token: s.rt, expires_in: ttl, token_type: 'Bearer',
          scope: 'openid read', ...(s.idToken ? { id_token: s.idToken } : {}) });
      }
      s.refreshes++;
      if (s.revoked || form.get('refresh_token') !== s.rt) return json(400, { error: 'invalid_grant' });
      s.gen++;
      s.current = `at-${s.gen}`;
      s.rt = `rt-${s.gen}`;
      return json(200, { access_token: s.current, refresh_token: s.rt, expires_in: ttl, token_type: 'Bearer' });
    }
  };
  s.expire = () => { s.current = `expired-${s.gen}`; }; // the server no longer accepts the held token
  // hold makes the token endpoint hold its next answers until release() is
  // called; answered resolves once it has processed a request.
  s.hold = () => {
    let release;
    s.gate = new Promise((r) => { release = r; });
    const answered = new Promise((r) => { s.answered = r; });
    return { answered, release: () => { s.gate = null; release(); } };
  };
  return s;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const clients = [];
after(() => clients.forEach((c) => c.close())); // a failed test must not leave channels open

function client(b, extra = {}) {
  const c = new BatonClient({ tokenEndpoint: 'https://auth.test/oauth2/token', clientId: 'web', fetch: b.fetch,
    resourceOrigins: ['https://api.test'], ...extra });
  clients.push(c);
  return c;
}

test('bearerError reads RFC 6750 headers', () => {
  assert.equal(bearerError('Bearer error="invalid_token", error_description="x"'), 'invalid_token');
  assert.equal(bearerError('Bearer realm="api", error="insufficient_scope"'), 'insufficient_scope');
  assert.equal(bearerError('Bearer realm="api"'), null);
  assert.equal(bearerError('Basic realm="x", error="invalid_token"'), null);
  assert.equal(bearerError(null), null);
});

test('ten requests failing at once cause one refresh and are each replayed once', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  b.expire();
  const responses = await Promise.all(Array.from({ length: 10 }, () => c.fetch('https://api.test/data')));
  assert.equal(b.refreshes, 1);
  assert.deepEqual(responses.map((r) => r.status), Array(10).fill(200));
  assert.equal(b.apiCalls, 20); // each request: one failure, one replay
  c.close();
});

test('requests started during a refresh wait for it instead of failing', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  b.expire();
  const refreshing = c.refresh(c.accessToken);
  const responses = await Promise.all(Array.from({ length: 5 }, () => c.fetch('https://api.test/data')));
  await refreshing;
  assert.equal(b.refreshes, 1);
  assert.equal(b.apiCalls, 5); // no failed attempt: they waited for the new token
  assert.ok(responses.every((r) => r.status === 200));
  c.close();
});

test('a request is replayed at most once', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  const realFetch = b.fetch;
  c.close();
  const always401 = async (input, init) => {
    const req = input instanceof Request ? input : new Request(input, init);
    if (new URL(req.url).pathname === '/oauth2/token') return realFetch(req);
    b.apiCalls++;
    return new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
  };
  const c2 = client({ ...b, fetch: always401 });
  await c2.login('alice', 'pw');
  const resp = await c2.fetch('https://api.test/data');
  assert.equal(resp.status, 401);
  assert.equal(b.apiCalls, 2);
  c2.close();
});

test('a 401 that is not invalid_token is not refreshed', async () => {
  const b = fakeBaton();
  const c = client(b, {
    fetch: async (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      if (new URL(req.url).pathname === '/oauth2/token') return b.fetch(req);
      return new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="api"' } });
    },
  });
  await c.login('alice', 'pw');
  assert.equal((await c.fetch('https://api.test/x')).status, 401);
  assert.equal(b.refreshes, 0);
  c.close();
});

test('proactive refresh before expiry, measured on the client clock', async () => {
  const b = fakeBaton({ ttl: 1 });
  const c = client(b, { refreshMargin: 400, now: () => 1_000_000 }); // the client's clock, not the server's
  await c.login('alice', 'pw');
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(b.refreshes, 0); // 1 s lifetime, 400 ms margin: not yet
  await new Promise((r) => setTimeout(r, 300));
  await c.settled();
  assert.equal(b.refreshes, 1);
  assert.equal(c.accessToken, 'at-1');
  c.close();
});

test('a margin longer than the lifetime does not refresh in a loop', async () => {
  const b = fakeBaton({ ttl: 1 }); // a 1 s token with the default 30 s margin
  const c = client(b);
  await c.login('alice', 'pw');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(b.refreshes, 0); // the first refresh comes at half the lifetime
  await new Promise((r) => setTimeout(r, 400));
  await c.settled();
  assert.equal(b.refreshes, 1);
  c.close();
});

test('proactive: false refreshes only when needed', async () => {
  const b = fakeBaton({ ttl: 1 });
  const c = client(b, { proactive: false });
  await c.login('alice', 'pw');
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(b.refreshes, 0);
  c.close();
});

test('an expired token is refreshed before the request is sent', async () => {
  const b = fakeBaton({ ttl: 60 });
  let now = 0;
  const c = client(b, { refreshMargin: 0, now: () => now });
  await c.login('alice', 'pw');
  now += 61_000; // a tab that slept through its timer
  b.expire();
  const resp = await c.fetch('https://api.test/data');
  assert.equal(resp.status, 200);
  assert.equal(b.refreshes, 1);
  assert.equal(b.apiCalls, 1);
  c.close();
});

test('invalid_grant signs out and calls onSignedOut once', async () => {
  const b = fakeBaton();
  let signedOut = 0;
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) };
  const c = client(b, { onSignedOut: () => signedOut++, storage: store });
  await c.login('alice', 'pw');
  assert.equal(storage.size, 1);
  b.revoked = true;
  b.expire();
  const results = await Promise.allSettled(Array.from({ length: 3 }, () => c.fetch('https://api.test/data')));
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof SignedOutError));
  assert.equal(signedOut, 1);
  assert.equal(c.signedIn, false);
  assert.equal(storage.size, 0);
  assert.equal(b.refreshes, 1);
  c.close();
});

test('a network error during refresh keeps the user signed in', async () => {
  const b = fakeBaton();
  let signedOut = 0;
  const c = client(b, { onSignedOut: () => signedOut++ });
  await c.login('alice', 'pw');
  b.expire();
  b.down = true;
  await assert.rejects(c.fetch('https://api.test/data'), TypeError);
  assert.equal(c.signedIn, true);
  assert.equal(signedOut, 0);
  b.down = false;
  assert.equal((await c.fetch('https://api.test/data')).status, 200);
  c.close();
});

test('stored tokens survive a reload with the remaining lifetime', async () => {
  const b = fakeBaton({ ttl: 60 });
  const storage = new Map();
  const store = { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => storage.set(k, v), removeItem: (k) => storage.delete(k) };
  const first = client(b, { storage: store });
  await first.login('alice', 'pw');
  first.close();
  const second = client(b, { storage: store, now: () => 5_000_000 }); // another page, another clock origin
  assert.equal(second.accessToken, 'at-0');
  assert.equal((await second.fetch('https://api.test/data')).status, 200);
  assert.equal(b.refreshes, 0);
  second.close();
});

test('axios adapter: one refresh, one replay', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  // A minimal axios: interceptors and request() over fetch.
  const axios = {
    interceptors: {
      request: { handlers: [], use(f) { this.handlers.push(f); return this.handlers.length - 1; }, eject(i) { this.handlers[i] = null; } },
      response: { handlers: [], use(_, r) { this.handlers.push(r); return this.handlers.length - 1; }, eject(i) { this.handlers[i] = null; } },
    },
    async request(config) {
      for (const f of this.interceptors.request.handlers) if (f) config = await f(config);
      const resp = await b.fetch(config.url, { headers: config.headers });
      if (resp.status >= 400) {
        const error = { config, response: { status: resp.status, headers: { 'www-authenticate': resp.headers.get('WWW-Authenticate') } } };
        for (const r of this.interceptors.response.handlers) if (r) return r(error);
        throw error;
      }
      return { status: resp.status };
    },
  };
  const detach = attachAxios(axios, c);
  b.expire();
  const results = await Promise.all(Array.from({ length: 10 }, () => axios.request({ url: 'https://api.test/data' })));
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(b.refreshes, 1);
  detach();
  c.close();
});

function mapStorage() {
  const m = new Map();
  return { m, getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k) };
}

test('endpoints default to baton paths at the token endpoint origin', () => {
  const b = fakeBaton();
  const c = client(b);
  assert.deepEqual({ ...c.endpoints }, {
    issuer: 'https://auth.test', authorizationEndpoint: 'https://auth.test/oauth2/authorize',
    tokenEndpoint: 'https://auth.test/oauth2/token', revocationEndpoint: 'https://auth.test/oauth2/revoke',
  });
  const d = client(b, { revocationEndpoint: 'https://auth.test/custom/revoke', issuer: 'https://auth.test/tenant' });
  assert.equal(d.endpoints.revocationEndpoint, 'https://auth.test/custom/revoke');
  assert.equal(d.endpoints.issuer, 'https://auth.test/tenant');
  c.close();
  d.close();
});

test('signOut revokes the refresh token (RFC 7009) before it forgets the pair', async () => {
  const b = fakeBaton();
  const store = mapStorage();
  let signedOut = 0;
  let heldDuringRevoke;
  const c = client(b, {
    storage: store, onSignedOut: () => signedOut++,
    fetch: async (input, init) => {
      if (String(input).endsWith('/oauth2/revoke')) heldDuringRevoke = { signedIn: c.signedIn, stored: store.m.size };
      return b.fetch(input, init);
    },
  });
  await c.login('alice', 'pw');
  const confirmed = await c.signOut();
  assert.deepEqual(b.revokes, [{ token: 'rt-0', token_type_hint: 'refresh_token', client_id: 'web' }]);
  assert.equal(confirmed, true);
  assert.deepEqual(heldDuringRevoke, { signedIn: true, stored: 1 }); // revoked first, forgotten after
  assert.equal(c.signedIn, false);
  assert.equal(store.m.size, 0);
  assert.equal(signedOut, 1);
  await assert.rejects(c.refresh(), SignedOutError);
  assert.equal(b.refreshes, 0);
  c.close();
});

test('signOut still signs out locally when the revocation fails, and says so', async () => {
  for (const failure of ['network', '503']) {
    const b = fakeBaton();
    const store = mapStorage();
    const c = client(b, { storage: store });
    await c.login('alice', 'pw');
    if (failure === 'network') b.revokeDown = true; else b.revokeStatus = 503;
    assert.equal(await c.signOut(), false, failure);
    assert.equal(c.signedIn, false, failure);
    assert.equal(store.m.size, 0, failure);
    c.close();
  }
});

test('concurrent signOut calls revoke once', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  const results = await Promise.all([c.signOut(), c.signOut(), c.signOut()]);
  assert.deepEqual(results, [true, true, true]);
  assert.equal(b.revokes.length, 1);
  assert.equal(await c.signOut(), true); // nothing left to revoke
  assert.equal(b.revokes.length, 1);
  c.close();
});

test('signOut during a refresh revokes the token the refresh produced and keeps nothing', async () => {
  const b = fakeBaton();
  const store = mapStorage();
  const c = client(b, { storage: store });
  await c.login('alice', 'pw');
  const { release } = b.hold();
  const refreshing = c.refresh();
  const signingOut = c.signOut();
  assert.equal(b.revokes.length, 0); // it waits for the refresh
  release();
  await refreshing;
  assert.equal(await signingOut, true);
  assert.deepEqual(b.revokes.map((f) => f.token), ['rt-1']);
  assert.equal(c.signedIn, false);
  assert.equal(c.accessToken, null);
  assert.equal(store.m.size, 0);
  assert.equal(b.refreshes, 1); // and no refresh started during the sign-out
  c.close();
});

test('signOut while another tab refreshes revokes the pair that tab gets', { timeout: 10_000 }, async () => {
  const b = fakeBaton();
  const store = mapStorage(); // localStorage shared by the two tabs
  let heard;
  const tab1Heard = new Promise((r) => { heard = r; });
  const tab1 = client(b, { storage: store, onEvent: (e) => e === 'refresh-in-other-tab' && heard() });
  await tab1.login('alice', 'pw');
  const tab2 = client(b, { storage: store });
  const { answered, release } = b.hold();
  const refreshing = tab2.refresh(); // announced on the channel; its answer is held
  await Promise.all([answered, tab1Heard]);
  const signingOut = tab1.signOut();
  release();
  await refreshing;
  assert.equal(await signingOut, true);
  await new Promise((r) => setTimeout(r, 20)); // let every broadcast arrive
  assert.deepEqual(b.revokes.map((f) => f.token), ['rt-1']);
  assert.equal(tab1.signedIn, false);
  assert.equal(tab2.signedIn, false);
  assert.equal(store.m.size, 0);
  tab1.close();
  tab2.close();
});

test('a refresh answered after a sign-out in another tab brings no tokens back', { timeout: 10_000 }, async () => {
  const b = fakeBaton();
  const store = mapStorage();
  const tab1 = client(b, { storage: store });
  await tab1.login('alice', 'pw');
  let tab1Out;
  const tab1SignedOut = new Promise((r) => { tab1Out = r; });
  const tab1Watch = client(b, { storage: store, onSignedOut: () => tab1Out() }); // tab1's channel, seen from outside
  const { answered, release } = b.hold();
  const refreshing = tab1.refresh(); // the server rotates rt-0; its answer is held
  await answered;
  const tab2 = client(b, { storage: store }); // opened meanwhile: it never heard of the refresh
  const confirmed = await tab2.signOut();
  assert.deepEqual(b.revokes.map((f) => f.token), ['rt-0']);
  assert.equal(confirmed, true);
  await tab1SignedOut;
  release();
  await assert.rejects(refreshing, SignedOutError);
  await new Promise((r) => setTimeout(r, 20)); // let any broadcast arrive
  assert.deepEqual(b.revokes.map((f) => f.token), ['rt-0', 'rt-1']); // the late pair is revoked too
  for (const c of [tab1, tab1Watch, tab2]) assert.equal(c.signedIn, false);
  assert.equal(store.m.size, 0);
  [tab1, tab1Watch, tab2].forEach((c) => c.close());
});

test('the bearer token goes only to resourceOrigins', async () => {
  const b = fakeBaton();
  const c = client(b, { resourceOrigins: ['https://api.test/', 'http://localhost:8080'] });
  await c.login('alice', 'pw');
  assert.equal((await c.fetch('https://api.test/data')).status, 200);
  assert.equal((await c.fetch(new URL('https://api.test/data'))).status, 200);
  b.log.length = 0;
  for (const url of ['https://evil.test/steal', 'https://api.test.evil.test/x', 'http://api.test/data',
    'https://api.test:8443/data', 'https://auth.test/oauth2/userinfo']) {
    await assert.rejects(c.fetch(url), (err) => err instanceof ResourceOriginError && err.origin === new URL(url).origin, url);
  }
  await assert.rejects(c.fetch(new Request('https://evil.test/x')), ResourceOriginError);
  assert.deepEqual(b.log, []); // nothing was sent, with or without the header
  assert.deepEqual(c.resourceOrigins, ['https://api.test', 'http://localhost:8080']);
  c.close();
});

test('by default only the token endpoint origin receives the bearer token', async () => {
  const b = fakeBaton();
  const c = client(b, { resourceOrigins: undefined });
  await c.login('alice', 'pw');
  b.log.length = 0;
  await assert.rejects(c.fetch('https://api.test/data'), ResourceOriginError);
  assert.deepEqual(b.log, []);
  await c.fetch('https://auth.test/oauth2/userinfo');
  assert.deepEqual(b.log, ['GET https://auth.test/oauth2/userinfo Bearer at-0']);
  assert.deepEqual(c.resourceOrigins, ['https://auth.test']);
  assert.throws(() => client(b, { resourceOrigins: ['https://api.test/v1'] }), TypeError);
  assert.throws(() => client(b, { resourceOrigins: ['*'] }), TypeError);
  assert.throws(() => client(b, { resourceOrigins: 'https://api.test' }), TypeError);
  c.close();
});

test('relative URLs resolve against the page, and are refused without one', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  await assert.rejects(c.fetch('/data'), /no page location/);
  globalThis.location = new URL('https://api.test/app/page.html');
  try {
    assert.equal((await c.fetch('/data')).status, 200);
    assert.equal((await c.fetch('data')).status, 200);
    b.log.length = 0;
    await assert.rejects(c.fetch('//evil.test/x'), ResourceOriginError);
    assert.deepEqual(b.log, []);
    const rel = client(b, { tokenEndpoint: '/oauth2/token', resourceOrigins: undefined });
    assert.equal(rel.endpoints.revocationEndpoint, 'https://api.test/oauth2/revoke');
    assert.deepEqual(rel.resourceOrigins, ['https://api.test']);
    rel.close();
  } finally {
    delete globalThis.location;
  }
  c.close();
});

test('axios adapter refuses other origins before anything is sent', async () => {
  const b = fakeBaton();
  const c = client(b);
  await c.login('alice', 'pw');
  const sent = [];
  const axios = {
    defaults: {},
    interceptors: {
      request: { handlers: [], use(f) { this.handlers.push(f); return 0; }, eject() {} },
      response: { handlers: [], use() { return 0; }, eject() {} },
    },
    async request(config) {
      for (const f of this.interceptors.request.handlers) config = await f(config);
      sent.push(config);
      return { status: 200 };
    },
  };
  attachAxios(axios, c);
  await axios.request({ url: 'https://api.test/data' });
  await axios.request({ baseURL: 'https://api.test/v1/', url: '/data' });
  assert.equal(sent.length, 2);
  assert.ok(sent.every((cfg) => cfg.headers.Authorization === 'Bearer at-0'));
  for (const [config, refusal] of [[{ url: 'https://evil.test/x' }, ResourceOriginError],
    [{ baseURL: 'https://evil.test', url: 'x' }, ResourceOriginError],
    [{ baseURL: 'https://api.test', url: 'https://evil.test/x' }, ResourceOriginError],
    [{ baseURL: 'https://api.test', url: '//evil.test/x' }, TypeError], // protocol-relative, and no page here
    [{ url: '/relative-without-a-page' }, TypeError]]) {
    await assert.rejects(axios.request(config), refusal, JSON.stringify(config));
  }
  assert.equal(sent.length, 2);
  c.close();
});

// redirectClient is a client for the authorization code flow whose
// navigation and address bar are recorded instead of performed.
function redirectClient(b, extra = {}) {
  const r = { session: mapStorage(), navigations: [], replaced: [] };
  r.client = client(b, { redirectStorage: r.session, navigate: (u) => r.navigations.push(u),
    replaceUrl: (u) => r.replaced.push(u), ...extra });
  return r;
}

// authorize runs loginWithRedirect and returns the authorize request's
// parameters, as baton would receive them.
async function authorize(r, opts = { redirectUri: 'https://app.test/callback?tab=1', scope: 'openid read' }) {
  await r.client.loginWithRedirect(opts);
  assert.equal(r.navigations.length, 1);
  const u = new URL(r.navigations.pop());
  assert.equal(u.origin + u.pathname, 'https://auth.test/oauth2/authorize');
  return Object.fromEntries(u.searchParams);
}

// callbackURL is where baton sends the browser back.
function callbackURL(q, params) {
  const u = new URL(q.redirect_uri);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

function fakeJWT(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'ES256', typ: 'JWT' })}.${enc(claims)}.c2ln`;
}

test('loginWithRedirect sends every authorize parameter with the S256 challenge of the stored verifier', async () => {
  const b = fakeBaton();
  const r = redirectClient(b);
  const q = await authorize(r);
  assert.deepEqual(Object.keys(q).sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'nonce',
    'redirect_uri', 'response_type', 'scope', 'state']);
  assert.equal(q.response_type, 'code');
  assert.equal(q.client_id, 'web');
  assert.equal(q.redirect_uri, 'https://app.test/callback?tab=1');
  assert.equal(q.scope, 'openid read');
  assert.equal(q.code_challenge_method, 'S256');
  assert.match(q.state, /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.nonce, /^[A-Za-z0-9_-]{43}$/);
  const [[key, raw]] = [...r.session.m];
  assert.equal(key, `baton:web:redirect:${q.state}`); // keyed by state: logins do not collide
  const stored = JSON.parse(raw);
  assert.match(stored.verifier, /^[A-Za-z0-9._~-]{43,128}$/); // RFC 7636 §4.1
  assert.equal(q.code_challenge, createHash('sha256').update(stored.verifier, 'ascii').digest('base64url'));
  assert.equal(stored.redirectUri, q.redirect_uri);
  assert.equal(stored.nonce, q.nonce);
  // A second login gets its own verifier and state; without openid, no nonce.
  const q2 = await authorize(r, { redirectUri: 'https://app.test/callback', scope: 'read', prompt: 'login' });
  assert.notEqual(q2.state, q.state);
  assert.equal(q2.nonce, undefined);
  assert.equal(q2.prompt, 'login');
  assert.equal(r.session.m.size, 2);
  assert.notEqual(JSON.parse(r.session.m.get(`baton:web:redirect:${q2.state}`)).verifier, stored.verifier);
  r.client.close();
});

test('a redirect with a missing or unknown state is refused and no token is requested', async () => {
  const b = fakeBaton();
  const r = redirectClient(b);
  const q = await authorize(r);
  for (const params of [{ code: 'c', iss: 'https://auth.test' }, { code: 'c', state: 'forged', iss: 'https://auth.test' }]) {
    await assert.rejects(r.client.handleRedirectCallback(callbackURL(q, params)),
      (err) => err instanceof RedirectCallbackError && err.code === (params.state ? 'unknown_state' : 'missing_state'));
  }
  assert.deepEqual(b.codeRequests, []);
  assert.equal(r.client.signedIn, false);
  assert.equal(r.session.m.size, 1); // the real login is still pending
  r.client.close();
});

test('a redirect whose iss is not the issuer (RFC 9207), or has none, is refused and no token is requested', async () => {
  const b = fakeBaton();
  const r = redirectClient(b);
  for (const iss of ['https://evil.test', 'https://auth.test/', undefined]) {
    const q = await authorize(r);
    const params = { code: 'c', state: q.state, ...(iss ? { iss } : {}) };
    await assert.rejects(r.client.handleRedirectCallback(callbackURL(q, params)),
      (err) => err instanceof RedirectCallbackError && err.code === (iss ? 'iss_mismatch' : 'missing_iss'), String(iss));
  }
  assert.deepEqual(b.codeRequests, []);
  assert.equal(r.client.signedIn, false);
  assert.equal(r.session.m.size, 0); // each state was spent by its failure
  r.client.close();
});

test('error=access_denied rejects with an AuthorizationError', async () => {
  const b = fakeBaton();
  const r = redirectClient(b);
  const q = await authorize(r);
  const url = callbackURL(q, { error: 'access_denied', error_description: 'the user declined', state: q.state, iss: 'https://auth.test' });
  await assert.rejects(r.client.handleRedirectCallback(url), (err) => err instanceof AuthorizationError
    && err instanceof OAuthError && err.code === 'access_denied' && err.message === 'the user declined');
  assert.deepEqual(b.codeRequests, []);
  assert.equal(r.session.m.size, 0);
  assert.deepEqual(r.replaced, ['https://app.test/callback?tab=1']);
  r.client.close();
});

test('handleRedirectCallback exchanges the code, keeps the pair, spends the state; then the usual refresh', async () => {
  const b = fakeBaton({ ttl: 60 });
  let now = 0;
  const tokens = mapStorage();
  const r = redirectClient(b, { storage: tokens, refreshMargin: 0, now: () => now });
  const q = await authorize(r, { redirectUri: 'https://app.test/callback?tab=1', scope: 'openid read', appState: { path: '/orders' } });
  const { verifier } = JSON.parse([...r.session.m.values()][0]);
  b.idToken = fakeJWT({ iss: 'https://auth.test', sub: 'u1', aud: 'web', nonce: q.nonce });
  const url = `${callbackURL(q, { code: 'the-code', state: q.state, iss: 'https://auth.test' })}#frag`;
  const result = await r.client.handleRedirectCallback(url);
  assert.deepEqual(b.codeRequests, ['application/x-www-form-urlencoded grant_type=authorization_code&code=the-code'
    + `&redirect_uri=https://app.test/callback?tab=1&code_verifier=${verifier}&client_id=web`]);
  assert.deepEqual(result, { scope: 'openid read', expiresIn: 60, idToken: b.idToken, appState: { path: '/orders' } });
  assert.equal(r.client.signedIn, true);
  assert.equal(r.client.accessToken, 'at-0');
  assert.equal(r.client.idToken, b.idToken);
  assert.equal(r.client.idTokenClaims.sub, 'u1');
  assert.equal(JSON.parse(tokens.m.get('baton:web:tokens')).refreshToken, 'rt-0'); // stored as login does
  assert.equal(r.session.m.size, 0);
  assert.deepEqual(r.replaced, ['https://app.test/callback?tab=1#frag']);
  // The same redirect again (a reload, a replayed link): refused, nothing sent.
  await assert.rejects(r.client.handleRedirectCallback(url), (err) => err instanceof RedirectCallbackError && err.code === 'unknown_state');
  assert.equal(b.codeRequests.length, 1);
  // After expiry: one refresh for every request, the id_token kept.
  now += 61_000;
  b.expire();
  const responses = await Promise.all(Array.from({ length: 5 }, () => r.client.fetch('https://api.test/data')));
  assert.deepEqual(responses.map((x) => x.status), Array(5).fill(200));
  assert.equal(b.refreshes, 1);
  assert.equal(r.client.accessToken, 'at-1');
  assert.equal(r.client.idToken, b.idToken);
  r.client.close();
});

test('a failed code exchange spends the state too', async () => {
  const b = fakeBaton();
  const r = redirectClient(b);
  const q = await authorize(r);
  b.codeError = 'invalid_grant';
  const url = callbackURL(q, { code: 'c', state: q.state, iss: 'https://auth.test' });
  await assert.rejects(r.client.handleRedirectCallback(url), (err) => err instanceof OAuthError && err.code === 'invalid_grant' && err.status === 400);
  assert.equal(r.session.m.size, 0);
  assert.equal(r.client.signedIn, false);
  b.codeError = null;
  await assert.rejects(r.client.handleRedirectCallback(url), (err) => err.code === 'unknown_state');
  assert.equal(b.codeRequests.length, 1);
  r.client.close();
});

test('an id_token with another nonce, issuer or audience is refused and its refresh token revoked', async () => {
  for (const bad of [{ nonce: 'other' }, { iss: 'https://evil.test' }, { aud: 'other-client' }]) {
    const b = fakeBaton();
    const r = redirectClient(b);
    const q = await authorize(r);
    b.idToken = fakeJWT({ iss: 'https://auth.test', sub: 'u1', aud: 'web', nonce: q.nonce, ...bad });
    await assert.rejects(r.client.handleRedirectCallback(callbackURL(q, { code: 'c', state: q.state, iss: 'https://auth.test' })),
      (err) => err instanceof RedirectCallbackError && err.code === 'invalid_id_token', JSON.stringify(bad));
    assert.equal(r.client.signedIn, false);
    assert.deepEqual(b.revokes.map((f) => f.token), ['rt-0']);
    r.client.close();
  }
});

test('the redirect flow refuses to start without sessionStorage', async () => {
  const b = fakeBaton();
  const c = client(b, { navigate: () => assert.fail('navigated') });
  await assert.rejects(c.loginWithRedirect({ redirectUri: 'https://app.test/cb' }), /sessionStorage/);
  await assert.rejects(c.loginWithRedirect({}), /redirectUri/);
  c.close();
});

test('the pair and id_token from a redirect reach the other tabs', { timeout: 10_000 }, async () => {
  const b = fakeBaton();
  const tokens = mapStorage(); // localStorage shared by the two tabs
  let heard;
  const tab2Heard = new Promise((r) => { heard = r; });
  const tab2 = client(b, { storage: tokens, onEvent: (e) => e === 'tokens-from-other-tab' && heard() });
  const r = redirectClient(b, { storage: tokens });
  const q = await authorize(r);
  b.idToken = fakeJWT({ iss: 'https://auth.test', sub: 'u1', aud: ['web', 'other'], nonce: q.nonce });
  await r.client.handleRedirectCallback(callbackURL(q, { code: 'c', state: q.state, iss: 'https://auth.test' }));
  await tab2Heard;
  assert.equal(tab2.accessToken, 'at-0');
  assert.equal(tab2.idToken, b.idToken);
  const reloaded = client(b, { storage: tokens }); // a new page of the same origin
  assert.equal(reloaded.idToken, b.idToken);
  assert.equal(await r.client.signOut(), true);
  assert.equal(r.client.idToken, null);
  [tab2, reloaded, r.client].forEach((c) => c.close());
});
