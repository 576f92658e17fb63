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
  | 'revoked' | 'revoke-failed';

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
  /** Signs in with the password grant. */
  login(username: string, password: string, scope?: string): Promise<void>;
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
