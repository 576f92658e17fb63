/** Storage that lives as long as the page (the default). */
export class MemoryStorage implements Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Thrown when the session is over: the user must sign in again. */
export class SignedOutError extends Error {}

/** Thrown when the token endpoint answers with an OAuth error. */
export class OAuthError extends Error {
  readonly code: string;
  readonly status: number;
}

/**
 * The authorization server redirected back with `error` (RFC 6749 §4.1.2.1), e.g. `access_denied`
 * when the user declined at the consent page. `status` is undefined: no HTTP answer was involved.
 */
export class AuthorizationError extends OAuthError {}

/** Why handleRedirectCallback refused a redirect. */
export type RedirectCallbackErrorCode =
  | 'missing_state' | 'unknown_state' | 'missing_iss' | 'iss_mismatch' | 'missing_code'
  | 'invalid_response' | 'invalid_id_token';

/**
 * handleRedirectCallback refused the redirect: `invalid_id_token` after the code exchange (the
 * pair is not kept and its refresh token is revoked), every other code before any token request.
 */
export class RedirectCallbackError extends Error {
  readonly code: RedirectCallbackErrorCode;
}

/** The RFC 7636 S256 code challenge of a code verifier (base64url of its SHA-256). */
export function codeChallengeS256(verifier: string): Promise<string>;

/** Thrown instead of sending the access token to an origin that is not one of `resourceOrigins`. */
export class ResourceOriginError extends Error {
  /** The refused origin, e.g. `https://other.example`. */
  readonly origin: string;
}

/** The `error` of an RFC 6750 `WWW-Authenticate: Bearer …` header, or null. */
export function bearerError(header: string | null | undefined): string | null;

export type BatonEvent =
  | 'signed-in' | 'signed-out' | 'unauthorized' | 'replay' | 'refresh-start' | 'refreshed'
  | 'refresh-shared' | 'refresh-network-error' | 'refresh-in-other-tab' | 'tokens-from-other-tab'
  | 'revoked' | 'revoke-failed' | 'redirect' | 'redirect-failed' | 'replace-url-failed';

/** The authorization server's endpoints, with RFC 8414 names. */
export interface BatonEndpoints {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly revocationEndpoint: string;
}

export interface BatonClientOptions {
  /** baton's /oauth2/token URL (relative URLs resolve against the page). */
  tokenEndpoint: string;
  /** A public client's id. */
  clientId: string;
  /** baton's issuer identifier (RFC 8414). Default: tokenEndpoint's origin. */
  issuer?: string;
  /** Where a later loginWithRedirect sends the browser. Default: `/oauth2/authorize` at tokenEndpoint's origin. */
  authorizationEndpoint?: string;
  /** Where signOut revokes the refresh token (RFC 7009). Default: `/oauth2/revoke` at tokenEndpoint's origin. */
  revocationEndpoint?: string;
  /**
   * The origins (`scheme://host[:port]`, no path) the access token may be sent to by `fetch` and the
   * axios adapter; a request to any other origin is refused with a ResourceOriginError and not sent.
   * Relative URLs resolve against the page. Default: tokenEndpoint's origin only, e.g. baton itself
   * or an app served from the same origin; list your API's origin (and baton's, if you still call
   * it) when they differ.
   */
  resourceOrigins?: string[];
  /** Where the token pair is kept: memory by default; sessionStorage or localStorage opt-in. */
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** How long before expiry to refresh, in ms (default 30 000, at most half the token's lifetime). */
  refreshMargin?: number;
  /** Refresh ahead of expiry (default true); when false only expired tokens and invalid_token answers refresh. */
  proactive?: boolean;
  /** Called once when the session ends (invalid_grant, or sign-out in another tab). */
  onSignedOut?: () => void;
  /** Called with what the client does, for logs and demos. */
  onEvent?: (event: BatonEvent, detail?: Record<string, unknown>) => void;
  fetch?: typeof fetch;
  /** A monotonic clock in ms (default performance.now). */
  now?: () => number;
  /**
   * Where loginWithRedirect keeps the code verifier, state and nonce until handleRedirectCallback,
   * keyed by state. Default: sessionStorage (per tab, survives the round trip to baton).
   */
  redirectStorage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Sends the browser to the authorization endpoint. Default: `location.assign`. */
  navigate?: (url: string) => void;
  /**
   * Shows `url`, the callback URL without `code`, `state`, `iss`, `error…`, in the address bar.
   * Default: `history.replaceState`, when the callback URL is the page's own.
   */
  replaceUrl?: (url: string) => void;
}

export interface LoginWithRedirectOptions {
  /** Registered with the client (`baton client add --redirect-uri`); relative URLs resolve against the page. */
  redirectUri: string;
  /** Space-separated; with `openid` the token response carries an id_token. */
  scope?: string;
  /** OIDC nonce. Default: a random one when the scope holds `openid`, none otherwise. */
  nonce?: string;
  /** `login` makes baton ask for the password even if it remembers the user. */
  prompt?: 'login';
  /** Any JSON value (e.g. the path to return to), kept in redirectStorage and returned by the callback. */
  appState?: unknown;
}

export interface RedirectCallbackResult {
  /** The scope granted. */
  scope: string;
  /** The access token's lifetime in seconds. */
  expiresIn: number;
  /** The id_token when the scope held `openid`, else null. */
  idToken: string | null;
  /** What loginWithRedirect was given as appState, or null. */
  appState: unknown;
}

export class BatonClient {
  constructor(options: BatonClientOptions);
  readonly signedIn: boolean;
  readonly accessToken: string | null;
  /** The endpoints given or derived from tokenEndpoint's origin. */
  readonly endpoints: BatonEndpoints;
  /** The origins the access token may be sent to. */
  readonly resourceOrigins: string[];
  /** `url` resolved against the page, if its origin is one of resourceOrigins; throws ResourceOriginError otherwise. */
  resourceURL(url: string | URL): string;
  /**
   * The session's newest OIDC id_token, or null. Its iss, aud and nonce were checked on arrival; its
   * signature is not verified in the browser (it came straight from the token endpoint over TLS, OIDC
   * Core §3.1.3.7), so a server must not accept it as proof: send the access token.
   */
  readonly idToken: string | null;
  /** The id_token's claims, decoded but not verified, or null. */
  readonly idTokenClaims: Record<string, unknown> | null;
  /** Signs in with the password grant. */
  login(username: string, password: string, scope?: string): Promise<void>;
  /**
   * Starts the authorization code flow with PKCE (S256): stores a new code verifier, state and nonce
   * in redirectStorage and sends the browser to authorizationEndpoint. Rejects with a TypeError,
   * navigating nowhere, without redirectStorage/sessionStorage or WebCrypto (a secure context).
   */
  loginWithRedirect(options: LoginWithRedirectOptions): Promise<void>;
  /**
   * On the redirect page: checks `state` (one this tab sent, used once) and `iss` (the issuer; a
   * missing `iss` is refused, baton always sends it), exchanges the code and keeps the pair as login
   * does, then the usual silent refresh. Rejects with a RedirectCallbackError, an AuthorizationError
   * (`error` in the redirect) or an OAuthError (the token endpoint refused the code). Success or not,
   * the stored state is spent and the response removed from the address bar.
   */
  handleRedirectCallback(url?: string | URL): Promise<RedirectCallbackResult>;
  /**
   * Revokes the refresh token at revocationEndpoint (RFC 7009), then forgets the tokens here and in
   * the other tabs, whether or not the revocation succeeded. Waits for a refresh in flight and
   * revokes the token it produced; concurrent calls share one sign-out. Never rejects: resolves
   * `true` when the server confirmed the revocation (or no token was held), `false` when it did not
   * (network error or an error answer), in which case the refresh token may stay valid on the server
   * until its idle or absolute lifetime ends.
   */
  signOut(): Promise<boolean>;
  /** Stops the timer and the channel. */
  close(): void;
  /** Resolves once no refresh is in flight; never rejects. */
  settled(): Promise<void>;
  /** A usable access token, refreshed first if it has expired. */
  token(): Promise<string | null>;
  /**
   * fetch with the bearer header, refresh on invalid_token and one replay. Rejects with a
   * ResourceOriginError, sending nothing, when the URL's origin is not one of resourceOrigins.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Refreshes once for every concurrent caller; `stale` is the token a failed request used. */
  refresh(stale?: string): Promise<void>;
}

/** Minimal shape of an axios instance. */
export interface AxiosLike {
  interceptors: {
    request: { use(onFulfilled: (config: any) => any): number; eject(id: number): void };
    response: { use(onFulfilled: undefined, onRejected: (error: any) => any): number; eject(id: number): void };
  };
  request(config: any): Promise<any>;
}

/**
 * Installs the interceptors on an axios instance; returns a function that removes them. A request
 * (url with baseURL) to an origin not in the client's resourceOrigins is refused with a
 * ResourceOriginError before it is sent: use another axios instance for other origins.
 */
export function attachAxios(axios: AxiosLike, client: BatonClient): () => void;
