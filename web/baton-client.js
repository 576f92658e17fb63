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
// error during a refresh keeps the user signed in.

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

/** The `error` of an RFC 6750 `WWW-Authenticate: Bearer …` header, or null. */
export function bearerError(header) {
  if (!header || !/^\s*bearer\b/i.test(header)) return null;
  const m = /\berror\s*=\s*"([^"]*)"/i.exec(header);
  return m ? m[1] : null;
}

const RETRY_MS = 5_000;

export class BatonClient {
  #tokenURL; #clientId; #storage; #key; #margin; #proactive; #onSignedOut; #onEvent; #fetch; #now;
  #pair = null; // {accessToken, refreshToken, expiresAt (this page's clock, ms), scope}
  #inflight = null;
  #timer = null;
  #channel = null;
  #closed = false;
  #peerRefreshing = false; // another tab announced a refresh whose result has not arrived
  #peerWaiters = [];

  /**
   * @param {object} o
   * @param {string} o.tokenEndpoint   baton's /oauth2/token URL
   * @param {string} o.clientId        a public client's id
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
    this.#tokenURL = o.tokenEndpoint;
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

  /** Whether a token pair is held. */
  get signedIn() { return this.#pair !== null; }

  /** The current access token, or null. */
  get accessToken() { return this.#pair ? this.#pair.accessToken : null; }

  /** Signs in with the password grant. */
  async login(username, password, scope) {
    const params = { grant_type: 'password', username, password };
    if (scope) params.scope = scope;
    const { ok, status, json } = await this.#post(params);
    if (!ok) throw new OAuthError(json.error || 'server_error', json.error_description, status);
    this.#accept(json, true);
    this.#onEvent('signed-in');
  }

  /** Forgets the tokens here and in the other tabs. */
  signOut() { this.#clear(true); }

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
    const request = new Request(input, init);
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
    if (typeof navigator !== 'undefined' && navigator.locks) {
      return navigator.locks.request(`baton-refresh:${this.#clientId}`, run);
    }
    return run();
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
      result = await this.#post({ grant_type: 'refresh_token', refresh_token: this.#pair.refreshToken });
    } catch (err) {
      if (this.#channel) this.#channel.postMessage({ type: 'refresh-failed' });
      this.#onEvent('refresh-network-error', { message: String(err) });
      this.#schedule(RETRY_MS); // stay signed in; try again later
      throw err;
    }
    const { ok, status, json } = result;
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

  async #post(params) {
    const resp = await this.#fetch(this.#tokenURL, {
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
    if (msg.type === 'refreshing') this.#peerRefreshing = true;
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

/**
 * Installs a request and a response interceptor on an axios instance (axios
 * is a peer dependency of this adapter only). Returns a function that
 * removes them.
 */
export function attachAxios(axios, client) {
  const setAuth = (config, token) => {
    config.headers = config.headers || {};
    if (typeof config.headers.set === 'function') config.headers.set('Authorization', `Bearer ${token}`);
    else config.headers.Authorization = `Bearer ${token}`;
  };
  const req = axios.interceptors.request.use(async (config) => {
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
