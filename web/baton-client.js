// baton-client: silent refresh for browser apps, with no dependencies.
//
// A BatonClient holds the token pair, adds the bearer header, and refreshes
//   - reactively, on a 401 whose WWW-Authenticate says error="invalid_token";
//   - proactively, `refreshMargin` ms before expiry, measured on the client's
//     own clock from `expires_in` (server and client clocks are never compared);
//   - once, however many requests fail or start while a refresh is in flight:
//     they wait and are replayed with the new token, each at most once;
//   - once across tabs of an origin: a Web Lock serialises refreshes, and the
//     new pair reaches the other tabs through shared storage or a BroadcastChannel.
// On invalid_grant it clears the tokens and calls onSignedOut; a network
// error during a refresh keeps the user signed in. signOut() revokes the
// refresh token (RFC 7009) before it forgets the pair. The bearer token goes
// only to the origins listed in `resourceOrigins` (by default baton's own).

/** Storage that lives as long as the page (the default). */
export class MemoryStorage {
  #items = new Map();
  getItem(k) { return this.#items.has(k) ? this.#items.get(k) : null; }
  setItem(k, v) { this.#items.set(k, String(v)); }
  removeItem(k) { this.#items.delete(k); }
}

/** Thrown when the session is over: the user must sign in again. */
export class SignedOutError extends Error {
  constructor(message = 'signed out') { super(message); this.name = 'SignedOutError'; }
}

/** Thrown when the token endpoint answers with an OAuth error. */
export class OAuthError extends Error {
  constructor(code, description, status) {
    super(description || code);
    this.name = 'OAuthError';
    this.code = code;
    this.status = status;
  }
}

/** Thrown instead of sending the access token to an origin not in resourceOrigins. */
export class ResourceOriginError extends Error {
  constructor(origin) {
    super(`baton: the access token may not be sent to ${origin}: it is not one of resourceOrigins`);
    this.name = 'ResourceOriginError';
    this.origin = origin;
  }
}

/** The `error` of an RFC 6750 `WWW-Authenticate: Bearer …` header, or null. */
export function bearerError(header) {
  if (!header || !/^\s*bearer\b/i.test(header)) return null;
  const m = /\berror\s*=\s*"([^"]*)"/i.exec(header);
  return m ? m[1] : null;
}

const RETRY_MS = 5_000;

// The page's URL, against which relative URLs resolve; absent outside a page.
function pageBase() {
  const loc = globalThis.location;
  return loc && loc.href ? String(loc.href) : undefined;
}

function absoluteURL(url, what) {
  try {
    return new URL(url, pageBase());
  } catch {
    throw new TypeError(`baton: ${what} ${JSON.stringify(String(url))} is not an absolute URL, and there is no page location to resolve it against`);
  }
}

// serverMetadata takes the RFC 8414 names; the ones not given derive from
// the token endpoint's origin, as baton serves them.
function serverMetadata(o) {
  const token = absoluteURL(o.tokenEndpoint, 'tokenEndpoint');
  const at = (given, what, path) => (given ? absoluteURL(given, what) : new URL(path, token.origin)).href;
  return Object.freeze({
    issuer: o.issuer ? String(o.issuer) : token.origin,
    authorizationEndpoint: at(o.authorizationEndpoint, 'authorizationEndpoint', '/oauth2/authorize'),
    tokenEndpoint: token.href,
    revocationEndpoint: at(o.revocationEndpoint, 'revocationEndpoint', '/oauth2/revoke'),
  });
}

// parseOrigin accepts an origin ("https://api.example.com", a trailing slash
// allowed) and nothing that looks like it restricts more or less than one.
function parseOrigin(s) {
  let u = null;
  try { u = new URL(String(s)); } catch { /* reported below */ }
  if (!u || u.origin === 'null' || u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
    throw new TypeError(`baton: resourceOrigins holds origins such as "https://api.example.com", not ${JSON.stringify(String(s))}`);
  }
  return u.origin;
}

export class BatonClient {
  #endpoints; #origins; #clientId; #storage; #key; #margin; #proactive; #onSignedOut; #onEvent; #fetch; #now;
  #pair = null; // {accessToken, refreshToken, expiresAt (this page's clock, ms), scope}
  #inflight = null;
  #timer = null;
  #channel = null;
  #closed = false;
  #peerRefreshing = false; // another tab announced a refresh whose result has not arrived
  #peerWaiters = [];
  #signingOut = null; // the promise of a signOut in progress

  /**
   * @param {object} o
   * @param {string} o.tokenEndpoint   baton's /oauth2/token URL
   * @param {string} o.clientId        a public client's id
   * @param {string} [o.issuer]        default: tokenEndpoint's origin
   * @param {string} [o.authorizationEndpoint] default: /oauth2/authorize at tokenEndpoint's origin
   * @param {string} [o.revocationEndpoint]    default: /oauth2/revoke at tokenEndpoint's origin
   * @param {string[]} [o.resourceOrigins] the origins the access token may be sent to
   *   (default: tokenEndpoint's origin only); requests elsewhere are refused
   * @param {Storage} [o.storage]      memory by default; sessionStorage or localStorage opt-in
   * @param {number} [o.refreshMargin] ms before expiry to refresh (default 30 000,
   *   at most half the token's lifetime)
   * @param {boolean} [o.proactive]   refresh ahead of expiry (default true); when false,
   *   only expired tokens and invalid_token answers cause a refresh
   * @param {() => void} [o.onSignedOut]
   * @param {(event: string, detail?: object) => void} [o.onEvent] what the client does, for logs
   * @param {typeof fetch} [o.fetch]
   * @param {() => number} [o.now]     a monotonic clock in ms (default performance.now)
   */
  constructor(o) {
    if (!o || !o.tokenEndpoint || !o.clientId) throw new TypeError('tokenEndpoint and clientId are required');
    this.#endpoints = serverMetadata(o);
    const origins = o.resourceOrigins ?? [new URL(this.#endpoints.tokenEndpoint).origin];
    if (!Array.isArray(origins)) throw new TypeError('baton: resourceOrigins must be an array of origins');
    this.#origins = new Set(origins.map(parseOrigin));
    this.#clientId = o.clientId;
    this.#storage = o.storage || new MemoryStorage();
    this.#key = `baton:${o.clientId}:tokens`;
    this.#margin = o.refreshMargin ?? 30_000;
    this.#proactive = o.proactive ?? true;
    this.#onSignedOut = o.onSignedOut || (() => {});
    this.#onEvent = o.onEvent || (() => {});
    this.#fetch = o.fetch || ((...a) => globalThis.fetch(...a));
    this.#now = o.now || (() => performance.now());
    if (typeof BroadcastChannel !== 'undefined') {
      this.#channel = new BroadcastChannel(`baton:${o.clientId}`);
      this.#channel.onmessage = (e) => this.#onMessage(e.data);
    }
    this.#load();
  }

  /** The authorization server's endpoints (RFC 8414 names), given or derived. */
  get endpoints() { return this.#endpoints; }

  /** The origins the access token may be sent to. */
  get resourceOrigins() { return [...this.#origins]; }

  /**
   * Resolves `url` against the page and returns it, absolute, if its origin
   * is one of resourceOrigins; throws ResourceOriginError otherwise.
   */
  resourceURL(url) {
    const u = absoluteURL(url, 'request URL');
    if (!this.#origins.has(u.origin)) throw new ResourceOriginError(u.origin);
    return u.href;
  }

  /** Whether a token pair is held. */
  get signedIn() { return this.#pair !== null; }

  /** The current access token, or null. */
  get accessToken() { return this.#pair ? this.#pair.accessToken : null; }

  /** Signs in with the password grant. */
  async login(username, password, scope) {
    const params = { grant_type: 'password', username, password };
    if (scope) params.scope = scope;
    const { ok, status, json } = await this.#post(this.#endpoints.tokenEndpoint, params);
    if (!ok) throw new OAuthError(json.error || 'server_error', json.error_description, status);
    this.#accept(json, true);
    this.#onEvent('signed-in');
  }

  /**
   * Revokes the refresh token at revocationEndpoint (RFC 7009), then forgets
   * the tokens here and in the other tabs, whether the revocation succeeded
   * or not. A refresh in flight is waited for, and the token it produced is
   * the one revoked; no refresh starts meanwhile. Concurrent calls share one
   * sign-out. Resolves true when the server confirmed the revocation of every
   * refresh token held (or none was held), false when it did not (network
   * error or error answer: the token may stay valid until it expires);
   * never rejects.
   */
  signOut() {
    if (!this.#signingOut) this.#signingOut = this.#signOut().finally(() => { this.#signingOut = null; });
    return this.#signingOut;
  }

  async #signOut() {
    await this.settled();
    return this.#locked(async () => {
      this.#load(); // the pair another tab may have stored
      if (this.#peerRefreshing) await this.#peerResult();
      let confirmed = true;
      const revoked = new Set();
      try {
        // A pair from another tab may arrive while a revocation is in flight.
        while (this.#pair && !revoked.has(this.#pair.refreshToken)) {
          revoked.add(this.#pair.refreshToken);
          confirmed = (await this.#revoke(this.#pair.refreshToken)) && confirmed;
        }
      } finally {
        this.#clear(true);
      }
      return confirmed;
    });
  }

  // revoke asks the server to revoke a refresh token; true when it confirmed.
  async #revoke(token) {
    try {
      const { ok, status, json } = await this.#post(this.#endpoints.revocationEndpoint,
        { token, token_type_hint: 'refresh_token' });
      if (ok) { this.#onEvent('revoked'); return true; }
      this.#onEvent('revoke-failed', { status, error: json.error });
    } catch (err) {
      this.#onEvent('revoke-failed', { message: String(err) });
    }
    return false;
  }

  /** Stops the timer and the channel. */
  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#channel) this.#channel.close();
  }

  /** Resolves once no refresh is in flight; never rejects. */
  settled() {
    return this.#inflight ? this.#inflight.then(() => {}, () => {}) : Promise.resolve();
  }

  /**
   * A usable access token: waits for a refresh in flight, and refreshes
   * first if the token has expired (a sleeping tab misses its timer).
   */
  async token() {
    await this.settled();
    if (this.#pair && this.#pair.expiresAt <= this.#now()) await this.refresh(this.#pair.accessToken);
    return this.accessToken;
  }

  /**
   * fetch with the bearer header. On a 401 with error="invalid_token" it
   * refreshes (once for every request that fails at the same time) and
   * replays the request once.
   */
  async fetch(input, init) {
    const request = input instanceof Request
      ? (this.resourceURL(input.url), new Request(input, init))
      : new Request(this.resourceURL(String(input)), init);
    const used = await this.token();
    const resp = await this.#fetch(withBearer(request.clone(), used));
    if (resp.status !== 401 || bearerError(resp.headers.get('WWW-Authenticate')) !== 'invalid_token' || !this.#pair) return resp;
    this.#onEvent('unauthorized', { url: request.url });
    await this.refresh(used);
    this.#onEvent('replay', { url: request.url });
    return this.#fetch(withBearer(request, this.accessToken));
  }

  /**
   * Refreshes the pair. `stale` is the access token a failed request used:
   * if the pair has moved on since, there is nothing to do. Concurrent
   * callers share one refresh.
   */
  refresh(stale) {
    if (!this.#pair) return Promise.reject(new SignedOutError());
    if (this.#signingOut) return Promise.reject(new SignedOutError('signing out'));
    if (stale !== undefined && stale !== this.#pair.accessToken) return Promise.resolve();
    if (!this.#inflight) {
      const before = this.#pair.refreshToken;
      this.#inflight = this.#refreshAcrossTabs(before).finally(() => { this.#inflight = null; });
    }
    return this.#inflight;
  }

  async #refreshAcrossTabs(before) {
    const run = async () => {
      // Another tab may have refreshed while this one waited for the lock.
      this.#load();
      if (this.#pair && this.#pair.refreshToken === before) await this.#peerResult();
      if (!this.#pair) throw new SignedOutError();
      if (this.#pair.refreshToken !== before) { this.#onEvent('refresh-shared'); return; }
      await this.#refreshNow();
    };
    return this.#locked(run);
  }

  // locked runs fn holding the lock that serialises refreshes and sign-outs
  // across the tabs of an origin (where Web Locks exist).
  #locked(fn) {
    if (typeof navigator !== 'undefined' && navigator.locks) {
      return navigator.locks.request(`baton-refresh:${this.#clientId}`, fn);
    }
    return fn();
  }

  // peerResult waits (briefly) for the outcome of a refresh another tab
  // announced: the lock is released before its result is sure to have
  // reached this tab through storage or the channel.
  #peerResult() {
    if (!this.#peerRefreshing) return new Promise((r) => setTimeout(r, 0));
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 3_000);
      this.#peerWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  #peerDone() {
    this.#peerRefreshing = false;
    const waiters = this.#peerWaiters;
    this.#peerWaiters = [];
    waiters.forEach((w) => w());
  }

  async #refreshNow() {
    this.#onEvent('refresh-start');
    if (this.#channel) this.#channel.postMessage({ type: 'refreshing' });
    let result;
    try {
      result = await this.#post(this.#endpoints.tokenEndpoint, { grant_type: 'refresh_token', refresh_token: this.#pair.refreshToken });
    } catch (err) {
      if (this.#channel) this.#channel.postMessage({ type: 'refresh-failed' });
      this.#onEvent('refresh-network-error', { message: String(err) });
      this.#schedule(RETRY_MS); // stay signed in; try again later
      throw err;
    }
    const { ok, status, json } = result;
    if (ok && !this.#pair) {
      // Signed out in another tab meanwhile: the new pair must not outlive it.
      if (json.refresh_token) await this.#revoke(json.refresh_token);
      throw new SignedOutError();
    }
    if (ok) {
      this.#accept(json, true);
      this.#onEvent('refreshed');
      return;
    }
    if (json.error === 'invalid_grant') {
      this.#clear(true);
      throw new SignedOutError(json.error_description || 'the session has ended');
    }
    if (this.#channel) this.#channel.postMessage({ type: 'refresh-failed' });
    this.#schedule(RETRY_MS);
    throw new OAuthError(json.error || 'server_error', json.error_description, status);
  }

  async #post(url, params) {
    const resp = await this.#fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, client_id: this.#clientId }).toString(),
      credentials: 'omit',
      cache: 'no-store',
    });
    let json = {};
    try { json = await resp.json(); } catch { /* not JSON */ }
    return { ok: resp.ok, status: resp.status, json };
  }

  #accept(json, broadcast) {
    this.#pair = {
      accessToken: json.access_token,
      refreshToken: json.refresh_token || (this.#pair && this.#pair.refreshToken),
      expiresAt: this.#now() + Number(json.expires_in || 0) * 1000,
      lifetime: Number(json.expires_in || 0) * 1000,
      scope: json.scope || '',
    };
    this.#save();
    this.#schedule();
    if (broadcast && this.#channel) {
      this.#channel.postMessage({ type: 'tokens', json: { ...json, refresh_token: this.#pair.refreshToken, expires_in: Number(json.expires_in || 0) } });
    }
  }

  #onMessage(msg) {
    if (!msg || this.#closed) return;
    if (msg.type === 'refreshing') { this.#peerRefreshing = true; this.#onEvent('refresh-in-other-tab'); }
    if (msg.type === 'tokens') { this.#accept(msg.json, false); this.#onEvent('tokens-from-other-tab'); }
    if (msg.type === 'signed-out') this.#clear(false);
    if (msg.type === 'tokens' || msg.type === 'signed-out' || msg.type === 'refresh-failed') this.#peerDone();
  }

  #clear(broadcast) {
    const was = this.#pair !== null;
    this.#pair = null;
    clearTimeout(this.#timer);
    this.#storage.removeItem(this.#key);
    if (broadcast && this.#channel) this.#channel.postMessage({ type: 'signed-out' });
    if (was) { this.#onEvent('signed-out'); this.#onSignedOut(); }
  }

  #schedule(delay) {
    clearTimeout(this.#timer);
    if (!this.#pair || this.#closed || (!this.#proactive && delay === undefined)) return;
    // Never closer to expiry than half the lifetime: a margin longer than
    // the token's life would refresh in a loop.
    const margin = Math.min(this.#margin, (this.#pair.lifetime || 0) / 2);
    const wait = delay ?? Math.max(0, this.#pair.expiresAt - this.#now() - margin);
    this.#timer = setTimeout(() => { this.refresh().catch(() => {}); }, wait);
  }

  // Storage keeps the remaining lifetime and the wall-clock time of saving:
  // the monotonic clock starts anew in every page, and the lifetime was
  // measured on this machine, so no server clock is involved.
  #save() {
    const p = this.#pair;
    this.#storage.setItem(this.#key, JSON.stringify({
      accessToken: p.accessToken, refreshToken: p.refreshToken, scope: p.scope, lifetime: p.lifetime,
      remaining: p.expiresAt - this.#now(), savedAt: Date.now(),
    }));
  }

  #load() {
    const raw = this.#storage.getItem(this.#key);
    if (!raw) {
      if (!(this.#storage instanceof MemoryStorage)) this.#pair = null; // signed out in another tab
      return;
    }
    try {
      const s = JSON.parse(raw);
      if (this.#pair && this.#pair.refreshToken === s.refreshToken) return;
      const elapsed = Math.max(0, Date.now() - s.savedAt);
      this.#pair = { accessToken: s.accessToken, refreshToken: s.refreshToken, scope: s.scope,
        lifetime: s.lifetime, expiresAt: this.#now() + s.remaining - elapsed };
      this.#schedule();
    } catch {
      this.#storage.removeItem(this.#key);
    }
  }
}

function withBearer(request, token) {
  if (!token) return request;
  const headers = new Headers(request.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return new Request(request, { headers });
}

// axiosURL is the URL axios will request: its buildFullPath.
function axiosURL(config) {
  const url = config.url || '';
  const absolute = /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url);
  if (config.baseURL && (!absolute || config.allowAbsoluteUrls === false)) {
    return url ? `${config.baseURL.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}` : config.baseURL;
  }
  return url;
}

/**
 * Installs a request and a response interceptor on an axios instance (axios
 * is a peer dependency of this adapter only). Returns a function that
 * removes them. A request to an origin not in the client's resourceOrigins
 * is refused with a ResourceOriginError: use a separate axios instance for
 * other origins.
 */
export function attachAxios(axios, client) {
  const setAuth = (config, token) => {
    config.headers = config.headers || {};
    if (typeof config.headers.set === 'function') config.headers.set('Authorization', `Bearer ${token}`);
    else config.headers.Authorization = `Bearer ${token}`;
  };
  const req = axios.interceptors.request.use(async (config) => {
    client.resourceURL(axiosURL(config)); // throws before anything is sent
    const token = await client.token();
    if (token) setAuth(config, token);
    config.batonToken = token;
    return config;
  });
  const resp = axios.interceptors.response.use(undefined, async (error) => {
    const r = error && error.response;
    const config = error && error.config;
    if (!r || !config || config.batonReplayed || r.status !== 401) throw error;
    const headers = r.headers || {};
    const www = typeof headers.get === 'function' ? headers.get('www-authenticate') : headers['www-authenticate'];
    if (bearerError(www) !== 'invalid_token') throw error;
    await client.refresh(config.batonToken);
    config.batonReplayed = true;
    setAuth(config, client.accessToken);
    return axios.request(config);
  });
  return () => { axios.interceptors.request.eject(req); axios.interceptors.response.eject(resp); };
}
