/* clientauth.c — client authentication for the back-channel endpoints (see clientauth.h). */
#include "autoconfig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clientauth.h"
#include "clients.h"
#include "http.h"
#include "server.h"
#include "util.h"

/*
 * Standard base64 digit values by byte (-1: not a digit), made once from
 * b64_digit_value: /introspect decodes a Basic credential on every call.
 */
static signed char b64_values[256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void
b64_table(void)
{
	for (int c = 0; c < 256; c++)
		b64_values[c] = (signed char)b64_digit_value(c, false);
}

/*
 * Strict standard base64 (RFC 4648 §4) with padding, as Basic uses it.
 * Returns the decoded length (out gets a NUL after it), or -1.
 */
static long
b64_decode(const char *in, size_t len, char *out, size_t out_size)
{
	size_t o = 0, pad = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 + 1 > out_size)
		return -1;
	pthread_once(&b64_once, b64_table);
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			if (last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			if ((v[k] = b64_values[(unsigned char)in[i + k]]) < 0)
				return -1;
		}
		out[o++] = (char)(v[0] << 2 | v[1] >> 4);
		if (!last || pad < 2)
			out[o++] = (char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (!last || pad < 1)
			out[o++] = (char)((v[2] & 0x3) << 6 | v[3]);
		/* One encoding per value: the bits padding drops must be zero. */
		if (last && ((pad == 2 && (v[1] & 0xf) != 0) || (pad == 1 && (v[2] & 0x3) != 0)))
			return -1;
	}
	out[o] = '\0';
	return (long)o;
}

/* Form-urldecode s[0..len) into a new string (RFC 6749 §2.3.1, Appendix B). */
static char *
urldecode(const char *s, size_t len, size_t *len_r)
{
	char *out = malloc(len + 1);
	long n;

	if (out == NULL)
		return NULL;
	if ((n = form_decode(s, len, out, len + 1)) < 0) {
		free_secret(out, len + 1);
		return NULL;
	}
	out[n] = '\0';
	*len_r = (size_t)n;
	return out;
}

static enum clientauth_extract
parse_basic(const char *value, struct client_creds *out)
{
	char buf[IDB_MAX_BASIC_AUTH_LEN];
	const char *p = value + strlen("Basic");
	const char *colon;
	size_t idlen, n, vlen;
	long dec;
	enum clientauth_extract r = CLIENTAUTH_MALFORMED;

	while (*p == ' ')
		p++;
	vlen = strlen(p);
	while (vlen > 0 && p[vlen - 1] == ' ')
		vlen--;
	if (vlen >= sizeof(buf) || (dec = b64_decode(p, vlen, buf, sizeof(buf))) < 0)
		goto out;
	if (memchr(buf, '\0', (size_t)dec) != NULL ||
	    (colon = memchr(buf, ':', (size_t)dec)) == NULL || colon == buf)
		goto out;
	if ((out->client_id = urldecode(buf, (size_t)(colon - buf), &idlen)) == NULL ||
	    idlen == 0)
		goto out;
	n = (size_t)dec - (size_t)(colon + 1 - buf);
	if ((out->secret = urldecode(colon + 1, n, &out->secret_len)) == NULL)
		goto out;
	out->method = CLIENT_METHOD_BASIC;
	r = CLIENTAUTH_OK;
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}

enum clientauth_extract
clientauth_extract(const char *authorization, const struct form *params,
    struct client_creds *out)
{
	const char *body_id = form_get(params, "client_id");
	const char *body_secret = form_get(params, "client_secret");
	enum clientauth_extract r = CLIENTAUTH_MALFORMED;

	memset(out, 0, sizeof(*out));
	if (authorization != NULL && strncasecmp(authorization, "Basic", 5) == 0 &&
	    (authorization[5] == ' ' || authorization[5] == '\0')) {
		if (body_secret != NULL)
			goto out;          /* two methods at once (RFC 6749 §2.3) */
		if ((r = parse_basic(authorization, out)) != CLIENTAUTH_OK)
			goto out;
		r = CLIENTAUTH_MALFORMED;
		if (body_id != NULL && strcmp(body_id, out->client_id) != 0)
			goto out;
		return CLIENTAUTH_OK;
	}
	if (body_id == NULL) {
		if (body_secret != NULL)
			goto out;
		return CLIENTAUTH_OK;    /* nobody: the check says invalid_client */
	}
	r = CLIENTAUTH_NOMEM;
	if ((out->client_id = strdup(body_id)) == NULL)
		goto out;
	if (body_secret != NULL) {
		out->secret_len = strlen(body_secret);
		if ((out->secret = strdup(body_secret)) == NULL)
			goto out;
	}
	out->method = CLIENT_METHOD_POST;
	return CLIENTAUTH_OK;
out:
	client_creds_free(out);
	return r;
}

void
client_creds_free(struct client_creds *cr)
{
	free(cr->client_id);
	free_secret(cr->secret, cr->secret_len);
	memset(cr, 0, sizeof(*cr));
}

const struct client_cfg *
clientauth_check(const struct config *cfg, const struct client_creds *cr, bool allow_public)
{
	const struct client_cfg *c = clients_find(cfg, cr->client_id);
	bool ok;

	if (cr->secret == NULL) {
		/* Same hashing work as a wrong secret, whoever asks. */
		(void)client_secret_ok(NULL, "", 0);
		ok = c != NULL && c->is_public && allow_public;
	} else
		ok = cr->secret_len <= IDB_MAX_CLIENT_SECRET_LEN &&
		    client_secret_ok(c, cr->secret, cr->secret_len);
	if (!ok) {
		clients_release(c);
		return NULL;
	}
	return c;
}

void
clientauth_respond_invalid(struct http_request *req, const char *description)
{
	http_respond_error(req, 401, "invalid_client", description);
	http_add_header(req, "WWW-Authenticate", "Basic realm=\"idbridge\"");
}

const struct client_cfg *
clientauth_request(struct http_request *req, const struct form *params, bool allow_public)
{
	struct client_creds cr;
	const struct client_cfg *c = NULL;

	switch (clientauth_extract(http_header(req, "Authorization"), params, &cr)) {
	case CLIENTAUTH_OK:
		break;
	case CLIENTAUTH_MALFORMED:
		http_respond_error(req, 400, "invalid_request",
		    "client credentials are malformed or given twice");
		return NULL;
	case CLIENTAUTH_NOMEM:
		http_respond_error(req, 500, "server_error", "out of memory");
		return NULL;
	}
	if ((c = clientauth_check(http_server(req)->cfg, &cr, allow_public)) == NULL)
		clientauth_respond_invalid(req, "client authentication failed");
	client_creds_free(&cr);
	return c;
}
