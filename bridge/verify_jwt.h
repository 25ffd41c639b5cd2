/*
 * verify_jwt.h — an access token's result, for /verify and /introspect.
 *
 * Results are cached by the token's SHA-256 (verifycache.h): a hit does
 * no signature work and no store read; a stale hit (the store changed
 * since the result was checked) asks the store whether the token's family
 * is still live; a miss verifies the signature and claims (token.h),
 * asks the store, and caches the result.  So a revocation counts within
 * about a second wherever it was made, at once when this process made it.
 *
 *	struct verify_result *r = NULL;
 *	switch (verify_jwt(srv, token, false, NULL, &r)) {
 *	case VERIFY_JWT_OK:  answer from r; break;
 *	...
 *	}
 *	verify_result_release(r);
 */
#ifndef IDBRIDGE_VERIFY_JWT_H
#define IDBRIDGE_VERIFY_JWT_H

#include <stdbool.h>
#include <jansson.h>

struct server;
struct verify_result;

enum verify_jwt_status {
	VERIFY_JWT_OK,          /* *r_r: the token's result (one reference) */
	VERIFY_JWT_INVALID,     /* bad, expired, revoked, or never issued here */
	VERIFY_JWT_UNAVAILABLE, /* the store does not answer, or out of memory */
	VERIFY_JWT_UNCACHED,    /* only with claims_r: signature and claims good, but over the
				   cache's limits (aud, groups): *claims_r, liveness not asked */
};

/*
 * token's result.  With introspection, the result carries the RFC 7662
 * answer (a cached result made by /verify lacks it and is made again).
 * claims_r, when not NULL, takes VERIFY_JWT_UNCACHED's claims (the caller
 * decrefs them); without it that case is VERIFY_JWT_INVALID.
 */
enum verify_jwt_status verify_jwt(struct server *srv, const char *token, bool introspection,
    json_t **claims_r, struct verify_result **r_r);

#endif
