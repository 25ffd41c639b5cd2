# Validate an idbridge access token inside a plugin API (PyJWT >= 2.4).
import jwt  # pip install "pyjwt[crypto]"

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


def make_verifier(issuer, audience, jwks_url=None):
    """A function token -> claims that raises jwt.InvalidTokenError when
    the token is not a valid idbridge access token for this audience."""
    # Fetches /jwks.json on first use and again for a kid it does not know.
    jwks = jwt.PyJWKClient(jwks_url or issuer + "/jwks.json")

    def verify(token):
        # Only access tokens (RFC 9068): never an ID token or anything else.
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":
            raise jwt.InvalidTokenError("not an access token (typ at+jwt)")
        key = jwks.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=ALGORITHMS,
                          issuer=issuer, audience=audience, leeway=60,
                          options={"require": ["exp", "iss", "aud", "sub"]})
    return verify


# verify = make_verifier("https://idbridge.example.com",
#                        "https://jira-plugin.example.com")
# claims = verify(request.headers["Authorization"].removeprefix("Bearer "))
# claims["sub"] is the user's directory id, claims["scope"] the scopes.
