// Validate an idbridge access token inside a plugin API (npm install jose).
import { createRemoteJWKSet, jwtVerify } from 'jose';

export function makeVerifier(issuer, audience, jwksUrl = `${issuer}/jwks.json`) {
  // Fetches /jwks.json on first use and again for a kid it does not know.
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  // Resolves to the claims; rejects when the token is not a valid idbridge
  // access token (typ at+jwt, RFC 9068) for this audience.
  return async function verify(token) {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience,
      typ: 'at+jwt',
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 60,
    });
    return payload;
  };
}

// const verify = makeVerifier('https://idbridge.example.com',
//                             'https://jira-plugin.example.com');
// const claims = await verify(req.headers.authorization.replace(/^Bearer /, ''));
// claims.sub is the user's directory id, claims.scope the scopes.
