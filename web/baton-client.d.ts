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

/** The `error` of an RFC 6750 `WWW-Authenticate: Bearer …` header, or null. */
export function bearerError(header: string | null | undefined): string | null;

export type BatonEvent =
  | 'signed-in' | 'signed-out' | 'unauthorized' | 'replay' | 'refresh-start' | 'refreshed'
  | 'refresh-shared' | 'refresh-network-error' | 'tokens-from-other-tab';

export interface BatonClientOptions {
  /** baton's /oauth2/token URL. */
  tokenEndpoint: string;
  /** A public client's id. */
  clientId: string;
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
  /** Signs in with the password grant. */
  login(username: string, password: string, scope?: string): Promise<void>;
  /** Forgets the tokens here and in the other tabs. */
  signOut(): void;
  /** Stops the timer and the channel. */
  close(): void;
  /** Resolves once no refresh is in flight; never rejects. */
  settled(): Promise<void>;
  /** A usable access token, refreshed first if it has expired. */
  token(): Promise<string | null>;
  /** fetch with the bearer header, refresh on invalid_token and one replay. */
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

/** Installs the interceptors on an axios instance; returns a function that removes them. */
export function attachAxios(axios: AxiosLike, client: BatonClient): () => void;
