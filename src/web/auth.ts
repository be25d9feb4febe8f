// Who is calling the score API: the caller's bearer token, checked by the Kubernetes API server with a
// TokenReview (authentication.k8s.io/v1), so any identity the cluster knows works — a ServiceAccount token from
// `kubectl create token`, a CI job's projected token, an OIDC user's token. Accepted tokens are remembered for a
// short while (by a SHA-256 of the token, never the token itself) so a busy CI does not turn every request into
// an API call; refused ones for a shorter while. Concurrent checks of one token share one review, and reviews
// of unknown tokens are rate-limited per client address, so guessing tokens cannot flood the API server.
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiMessage } from '../kube/errors.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';

export interface Caller {
  username: string;
  uid?: string;
  groups: string[];
  /** Extra attributes the authenticator added (e.g. a ServiceAccount token's pod), for authorization. */
  extra?: Record<string, string[]>;
}

export interface ReviewResult {
  authenticated: boolean;
  user?:
    | {
        username?: string | undefined;
        uid?: string | undefined;
        groups?: string[] | undefined;
        extra?: Record<string, string[]> | undefined;
      }
    | undefined;
  /** The API server's reason for refusing, e.g. "token has expired". */
  error?: string | undefined;
}

/** Asks the cluster whether a token is valid; throws when the cluster cannot be asked. */
export type TokenReviewer = (token: string) => Promise<ReviewResult>;

export type AuthResult =
  | { ok: true; caller: Caller }
  | { ok: false; status: 401 | 503; message: string }
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

export interface AuthenticatorOptions {
  /** How long an accepted token is trusted without asking again (default 60 s). */
  positiveTtlMs?: number;
  /** How long a refused token is refused without asking again (default 10 s). */
  negativeTtlMs?: number;
  maxEntries?: number;
  /** Reviews of tokens not yet known, per client address (default 5/s, burst 20). */
  reviewLimit?: RateLimit;
  clock?: () => number;
}

/** RFC 6750's b64token: what a bearer token may look like. */
const bearerPattern = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const maxTokenLength = 16_384;

/** The token of an `Authorization: Bearer …` header, or why there is none. */
export function bearerToken(header: string | undefined): { token: string } | { problem: string } {
  if (header === undefined || header.trim() === '') {
    return {
      problem:
        'This endpoint needs a Kubernetes bearer token: send "Authorization: Bearer <token>", for example a token from `kubectl create token <serviceaccount>`.',
    };
  }
  if (header.length > maxTokenLength + 16) return { problem: 'The bearer token is too long to be a Kubernetes token.' };
  const match = bearerPattern.exec(header);
  if (!match?.[1]) {
    return { problem: 'The Authorization header must be "Bearer <token>"; other schemes are not accepted.' };
  }
  return { token: match[1] };
}

interface Remembered {
  result: { ok: true; caller: Caller } | { ok: false; status: 401; message: string };
  expiresMs: number;
}

export class TokenAuthenticator {
  private readonly remembered = new Map<string, Remembered>();
  private readonly inFlight = new Map<string, Promise<AuthResult>>();
  private readonly reviews: TokenBuckets;
  private readonly positiveTtlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(
    private readonly review: TokenReviewer,
    options: AuthenticatorOptions = {},
  ) {
    this.positiveTtlMs = options.positiveTtlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.reviews = new TokenBuckets(options.reviewLimit ?? { ratePerSecond: 5, burst: 20 });
    this.clock = options.clock ?? (() => Date.now());
  }

  /** The caller behind an Authorization header; `client` (the remote address) bounds reviews of unknown tokens. */
  async authenticate(header: string | undefined, client: string): Promise<AuthResult> {
    const parsed = bearerToken(header);
    if ('problem' in parsed) return { ok: false, status: 401, message: parsed.problem };
    const key = createHash('sha256').update(parsed.token).digest('hex');
    const now = this.clock();
    const known = this.remembered.get(key);
    if (known && known.expiresMs > now) return known.result;
    if (known) this.remembered.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const admitted = this.reviews.take(client, now);
    if (!admitted.allowed) {
      return {
        ok: false,
        status: 429,
        message: 'Too many tokens to check from this address; wait and try again.',
        retryAfterSeconds: admitted.retryAfterSeconds,
      };
    }
    const check = this.check(parsed.token, key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, check);
    return check;
  }

  private async check(token: string, key: string): Promise<AuthResult> {
    let review: ReviewResult;
    try {
      review = await this.review(token);
    } catch (err) {
      return {
        ok: false,
        status: 503,
        message: `rollguard could not check the bearer token with the Kubernetes API (${apiMessage(err)}); try again shortly.`,
      };
    }
    const username = review.user?.username;
    let remembered: Remembered;
    if (review.authenticated && username) {
      const caller: Caller = { username, groups: review.user?.groups ?? [] };
      if (review.user?.uid) caller.uid = review.user.uid;
      if (review.user?.extra && Object.keys(review.user.extra).length > 0) caller.extra = review.user.extra;
      remembered = { result: { ok: true, caller }, expiresMs: this.clock() + this.positiveTtlMs };
    } else {
      const why = review.error ? `: ${review.error}` : '';
      remembered = {
        result: { ok: false, status: 401, message: `The Kubernetes API did not accept the bearer token${why}.` },
        expiresMs: this.clock() + this.negativeTtlMs,
      };
    }
    this.remember(key, remembered);
    return remembered.result;
  }

  private remember(key: string, entry: Remembered): void {
    if (this.remembered.size >= this.maxEntries) {
      const now = this.clock();
      for (const [k, v] of this.remembered) if (v.expiresMs <= now) this.remembered.delete(k);
      // Still full: forget the oldest (Map keeps insertion order).
      for (const k of this.remembered.keys()) {
        if (this.remembered.size < this.maxEntries) break;
        this.remembered.delete(k);
      }
    }
    this.remembered.set(key, entry);
  }
}

/** A TokenReviewer that asks the API server of `kubeConfig` (the controller's identity needs create on tokenreviews). */
export function kubeTokenReviewer(kubeConfig: KubeConfig, audiences?: string[]): TokenReviewer {
  const api = kubeConfig.makeApiClient(AuthenticationV1Api);
  return async (token) => {
    const review = await api.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences && audiences.length > 0 ? { audiences } : {}) },
      },
    });
    return {
      authenticated: review.status?.authenticated === true,
      user: review.status?.user,
      error: review.status?.error,
    };
  };
}
