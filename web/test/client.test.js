import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { BatonClient, bearerError, attachAxios, SignedOutError } from '../baton-client.js';

// fakeBaton answers the token endpoint and a protected API the way baton
// and its middleware do, counting refreshes.
function fakeBaton({ ttl = 60 } = {}) {
  const s = { refreshes: 0, apiCalls: 0, current: 'at-0', rt: 'rt-0', revoked: false, down: false, gen: 0 };
  s.fetch = async (input, init = {}) => {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === '/oauth2/token') {
      if (s.down) throw new TypeError('network down');
      const form = new URLSearchParams(await req.text());
      await new Promise((r) => setTimeout(r, 10));
      if (form.get('grant_type') === 'password') {
        return json(200, { access_token: s.current, refresh_token: s.rt, expires_in: ttl, token_type: 'Bearer' });
      }
      s.refreshes++;
      if (s.revoked || form.get('refresh_token') !== s.rt) return json(400, { error: 'invalid_grant' });
      s.gen++;
      s.current = `at-${s.gen}`;
      s.rt = `rt-${s.gen}`;
      return json(200, { access_token: s.current, refresh_token: s.rt, expires_in: ttl, token_type: 'Bearer' });
    }
    s.apiCalls++;
    if (req.headers.get('Authorization') !== `Bearer ${s.current}`) {
      return new Response('{}', { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="the access token expired"' } });
    }
    return json(200, { ok: true });
  };
  s.expire = () => { s.current = `expired-${s.gen}`; }; // the server no longer accepts the held token
  return s;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

const clients = [];
after(() => clients.forEach((c) => c.close())); // a failed test must not leave channels open

function client(b, extra = {}) {
  const c = new BatonClient({ tokenEndpoint: 'https://auth.test/oauth2/token', clientId: 'web', fetch: b.fetch, ...extra });
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
