import * as oidc from 'openid-client';
import type { Config } from '@baton/config';
import { BatonError, type Role } from '@baton/core';
import { parseRoleMap, readClaim, roleFromClaims } from '@baton/identity';

/** What one sign-in attempt keeps between the redirect to the provider and its callback (in a signed cookie). */
export interface SignInFlow {
  verifier: string;
  state: string;
  nonce: string;
  next: string;
}

export interface SignedInPerson {
  sub: string;
  name: string;
  /** Null when the claims grant no Baton role. */
  role: Role | null;
}

const DISCOVERY_TIMEOUT_S = 10;
/** A failed discovery is tried again on the next sign-in, but not more often than this. */
const RETRY_AFTER_MS = 5_000;

/**
 * Single sign-on with OpenID Connect: authorization code with PKCE (S256), state and nonce, through openid-client.
 * The issuer's metadata is discovered on first use (so a provider that is down at boot does not stop Baton) and kept.
 */
export class OidcClient {
  private config?: Promise<oidc.Configuration>;
  private failedAt = 0;
  private readonly roleMap: Map<string, Role>;
  readonly redirectUri: string;

  constructor(private readonly settings: Config) {
    this.roleMap = parseRoleMap(settings.OIDC_ROLE_MAP);
    this.redirectUri = new URL('/admin/login/callback', settings.PUBLIC_URL).href;
  }

  /** Where to send the browser, and what to remember until it comes back. */
  async start(next: string): Promise<{ url: string; flow: SignInFlow }> {
    const config = await this.configuration();
    const flow: SignInFlow = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      next,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.OIDC_SCOPES,
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    return { url: url.href, flow };
  }

  /**
   * Redeems the code of the callback at `currentUrl` (checking state, nonce and the PKCE verifier) and reads who
   * signed in. The role claim is read from the ID token, else from the userinfo endpoint (where many providers put
   * groups).
   */
  async finish(currentUrl: URL, flow: SignInFlow): Promise<SignedInPerson> {
    const config = await this.configuration();
    const tokens = await oidc.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    let claims: Record<string, unknown> = { ...tokens.claims() };
    const sub = String(claims.sub);
    if (readClaim(claims, this.settings.OIDC_ROLE_CLAIM) === undefined && config.serverMetadata().userinfo_endpoint) {
      claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, sub)), ...claims };
    }
    const name = [claims.name, claims.preferred_username, claims.email].find((v) => typeof v === 'string');
    return {
      sub,
      name: typeof name === 'string' ? name : sub,
      role: roleFromClaims(claims, this.settings.OIDC_ROLE_CLAIM, this.roleMap),
    };
  }

  private configuration(): Promise<oidc.Configuration> {
    if (this.config === undefined || (this.failedAt > 0 && Date.now() - this.failedAt > RETRY_AFTER_MS)) {
      this.failedAt = 0;
      const issuer = new URL(this.settings.OIDC_ISSUER_URL);
      const secret = this.settings.OIDC_CLIENT_SECRET;
      this.config = oidc
        .discovery(
          issuer,
          this.settings.OIDC_CLIENT_ID,
          undefined,
          secret ? oidc.ClientSecretPost(secret) : oidc.None(),
          {
            timeout: DISCOVERY_TIMEOUT_S,
            // Settings allow plain http for a provider on this machine only (see the config checks).
            execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
          },
        )
        .catch((error: unknown) => {
          this.failedAt = Date.now();
          throw new BatonError('overloaded', `the sign-in provider cannot be reached: ${(error as Error).message}`);
        });
    }
    return this.config;
  }
}
