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
// Sign-in is either the password grant (login) or the authorization code
// flow with PKCE (loginWithRedirect, then handleRedirectCallback on the
// redirect page; RFC 6749 §4.1, RFC 7636 S256, RFC 9207 `iss`).

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

/**
 * The authorization server redirected back with `error` (RFC 6749 §4.1.2.1),
 * e.g. access_denied when the user declined. An OAuthError without a status.
 */
export class AuthorizationError extends OAuthError {
  constructor(code, description) {
    super(code, description, undefined);
    this.name = 'AuthorizationError';
  }
}

/**
 * handleRedirectCallback refused the redirect before asking for tokens (or,
 * for id_token, after): `code` says why.
 */
export class RedirectCallbackError extends Error {
  constructor(code, message) {
    super(`baton: ${message}`);
    this.name = 'RedirectCallbackError';
    this.code = code;
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

// The parameters an authorization response adds to the redirect URI; they
// are removed from the address bar once read.
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

function base64url(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function webCrypto() {
  const c = globalThis.crypto;
  if (!c || !c.subtle || !c.getRandomValues) {
    throw new TypeError('baton: loginWithRedirect needs WebCrypto (a secure context: https or localhost)');
  }
  return c;
}

// randomString is 32 bytes from the CSPRNG, base64url: 43 characters of the
// RFC 7636 §4.1 unreserved set, 256 bits.
function randomString() {
  return base64url(webCrypto().getRandomValues(new Uint8Array(32)));
}

/** The RFC 7636 S256 code challenge of a code verifier. */
export async function codeChallengeS256(verifier) {
  const digest = await webCrypto().subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

// jwtClaims decodes a JWT's payload without verifying it, or returns null.
function jwtClaims(jwt) {
  try {
    const b64 = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0))));
  } catch {
    return null;
  }
}

function defaultRedirectStorage() {
  try {
    return globalThis.sessionStorage || null;
  } catch { // blocked by the browser's settings
    return null;
  }
}

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

// The default for the replaceUrl option: the address bar changes only when
// the callback URL is the page's own.
function defaultReplaceUrl(cleaned, original) {
  const loc = globalThis.location;
  const h = globalThis.history;
  if (loc && h && typeof h.replaceState === 'function' && String(loc.href) === original) {
    h.replaceState(h.state, '', cleaned);
  }
}

export class BatonClient {
  #endpoints; #origins; #clientId; #storage; #key; #margin; #proactive; #onSignedOut; #onEvent; #fetch; #now;
  #redirectStorage; #navigate; #replaceUrl;
  #pair = null; // {accessToken, refreshToken, expiresAt (this page's clock, ms), scope, idToken}
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
   * @param {Storage} [o.redirectStorage] where loginWithRedirect keeps its verifier and state
   *   until the callback (default sessionStorage: per tab, survives the round trip)
   * @param {(url: string) => void} [o.navigate] default location.assign
   * @param {(url: string) => void} [o.replaceUrl] removes the response from the address bar
   *   (default history.replaceState, when the callback URL is the page's)
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
    this.#redirectStorage = o.redirectStorage || null;
    this.#navigate = o.navigate || ((url) => globalThis.location.assign(url));
    this.#replaceUrl = o.replaceUrl || defaultReplaceUrl;
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

  /**
   * The OpenID Connect id_token of the session (the newest one: a refresh
   * may bring another), or null. Its iss, aud and nonce were checked when
   * it came with the code; its signature is not verified here (it came
   * straight from the token endpoint over TLS, OIDC Core §3.1.3.7): a
   * server must not trust it, it sends the access token instead.
   */
  get idToken() { return (this.#pair && this.#pair.idToken) || null; }

  /** The id_token's claims, decoded but not verified, or null. */
  get idTokenClaims() { return this.idToken ? jwtClaims(this.idToken) : null; }

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
   * Starts the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636):
   * keeps a fresh code verifier, state and nonce in redirectStorage, keyed
   * by the state, and sends the browser to authorizationEndpoint. The
   * redirect page then calls handleRedirectCallback. `nonce` is generated
   * when the scope holds openid and none is given; `appState` (any JSON
   * value, e.g. the path to return to) comes back from the callback.
   */
  async loginWithRedirect({ redirectUri, scope, nonce, prompt, appState } = {}) {
    if (!redirectUri) throw new TypeError('baton: loginWithRedirect needs redirectUri');
    const store = this.#pendingStorage();
    const redirect = absoluteURL(redirectUri, 'redirectUri').href;
    const verifier = randomString();
    const state = randomString();
    if (!nonce && scope && String(scope).split(/\s+/).includes('openid')) nonce = randomString();
    const url = new URL(this.#endpoints.authorizationEndpoint);
    const params = { response_type: 'code', client_id: this.#clientId, redirect_uri: redirect, state,
      code_challenge: await codeChallengeS256(verifier), code_challenge_method: 'S256' };
    if (scope) params.scope = scope;
    if (nonce) params.nonce = nonce;
    if (prompt) params.prompt = prompt;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    store.setItem(this.#pendingKey(state), JSON.stringify({
      verifier, redirectUri: redirect, nonce: nonce || null, appState: appState ?? null,
    }));
    this.#onEvent('redirect', { to: this.#endpoints.authorizationEndpoint });
    this.#navigate(url.href);
  }

  /**
   * Completes loginWithRedirect on the redirect page. Refuses, asking for no
   * token, a redirect whose state this tab did not send (or already used),
   * and one whose `iss` is not the issuer (RFC 9207: baton always sends it,
   * so a missing `iss` is refused too); rejects with an AuthorizationError
   * when baton sent `error`. Otherwise exchanges the code (with the code
   * verifier) and keeps the pair as login does. The stored state is used
   * once, success or not, and the response is removed from the address bar.
   * Resolves {scope, expiresIn, idToken, appState}.
   */
  async handleRedirectCallback(url = pageBase()) {
    if (!url) throw new TypeError('baton: handleRedirectCallback needs the redirect URL');
    const u = absoluteURL(url, 'callback URL');
    try {
      const q = u.searchParams;
      const pending = this.#takePending(q);
      const iss = q.get('iss');
      if (iss === null) throw new RedirectCallbackError('missing_iss', 'the redirect has no iss (RFC 9207), which baton always sends');
      if (iss !== this.#endpoints.issuer) {
        throw new RedirectCallbackError('iss_mismatch', `the redirect comes from issuer ${JSON.stringify(iss)}, not ${JSON.stringify(this.#endpoints.issuer)}`);
      }
      if (q.get('error')) throw new AuthorizationError(q.get('error'), q.get('error_description'));
      const code = q.get('code');
      if (!code) throw new RedirectCallbackError('missing_code', 'the redirect has neither code nor error');
      return await this.#exchangeCode(code, pending);
    } catch (err) {
      this.#onEvent('redirect-failed', { code: err.code, message: err.message });
      throw err;
    } finally {
      this.#cleanAddressBar(u);
    }
  }

  async #exchangeCode(code, pending) {
    const { ok, status, json } = await this.#post(this.#endpoints.tokenEndpoint, {
      grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, code_verifier: pending.verifier,
    });
    if (!ok) throw new OAuthError(json.error || 'server_error', json.error_description, status);
    const problem = json.id_token ? this.#idTokenProblem(json.id_token, pending.nonce) : null;
    if (problem) {
      if (json.refresh_token) await this.#revoke(json.refresh_token); // a pair not kept must not stay valid
      throw new RedirectCallbackError('invalid_id_token', `the id_token ${problem}`);
    }
    this.#accept(json, true);
    this.#onEvent('signed-in');
    return { scope: this.#pair.scope, expiresIn: this.#pair.lifetime / 1000, idToken: this.idToken, appState: pending.appState };
  }

  // idTokenProblem checks what a browser can check of an id_token that came
  // straight from the token endpoint: its issuer, audience and nonce.
  #idTokenProblem(idToken, nonce) {
    const c = jwtClaims(idToken);
    if (!c) return 'is not a JWT';
    if (c.iss !== this.#endpoints.issuer) return `has iss ${JSON.stringify(c.iss)}`;
    if (!(Array.isArray(c.aud) ? c.aud : [c.aud]).includes(this.#clientId)) return 'is not for this client';
    if (nonce && c.nonce !== nonce) return 'does not carry the nonce sent';
    return null;
  }

  #pendingStorage() {
    const store = this.#redirectStorage || defaultRedirectStorage();
    if (!store) throw new TypeError('baton: the redirect flow needs sessionStorage (or the redirectStorage option)');
    return store;
  }

  #pendingKey(state) { return `baton:${this.#clientId}:redirect:${state}`; }

  // takePending removes and returns what loginWithRedirect stored for the
  // response's state, before anything is awaited: one use, even for two
  // concurrent callbacks.
  #takePending(q) {
    for (const name of ['state', 'code', 'iss', 'error']) {
      if (q.getAll(name).length > 1) throw new RedirectCallbackError('invalid_response', `the redirect repeats ${name}`);
    }
    const state = q.get('state');
    if (!state) throw new RedirectCallbackError('missing_state', 'the redirect has no state');
    const store = this.#pendingStorage();
    const key = this.#pendingKey(state);
    const raw = store.getItem(key);
    store.removeItem(key);
    let pending = null;
    try { pending = JSON.parse(raw); } catch { /* reported below */ }
    if (!pending || !pending.verifier) {
      throw new RedirectCallbackError('unknown_state', 'the redirect\'s state is not one this tab sent, or it was used already');
    }
    return pending;
  }

  #cleanAddressBar(u) {
    const cleaned = new URL(u.href);
    const present = RESPONSE_PARAMS.filter((p) => cleaned.searchParams.has(p));
    if (present.length === 0) return;
    present.forEach((p) => cleaned.searchParams.delete(p));
    try {
      this.#replaceUrl(cleaned.href, u.href);
    } catch (err) {
      this.#onEvent('replace-url-failed', { message: String(err) });
    }
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
      this.#accept(json, true, true);
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

  // accept keeps a token response; a refresh keeps the session's id_token
  // when it brings none.
  #accept(json, broadcast, refreshed = false) {
    const prev = this.#pair;
    this.#pair = {
      accessToken: json.access_token,
      refreshToken: json.refresh_token || (prev && prev.refreshToken),
      expiresAt: this.#now() + Number(json.expires_in || 0) * 1000,
      lifetime: Number(json.expires_in || 0) * 1000,
      scope: json.scope || '',
      idToken: json.id_token || (refreshed && prev && prev.idToken) || null,
    };
    this.#save();
    this.#schedule();
    if (broadcast && this.#channel) {
      this.#channel.postMessage({ type: 'tokens', json: { ...json, refresh_token: this.#pair.refreshToken,
        id_token: this.#pair.idToken, expires_in: Number(json.expires_in || 0) } });
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
      idToken: p.idToken, remaining: p.expiresAt - this.#now(), savedAt: Date.now(),
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
        idToken: s.idToken || null, lifetime: s.lifetime, expiresAt: this.#now() + s.remaining - elapsed };
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
