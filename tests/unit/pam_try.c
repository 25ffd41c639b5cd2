/*
 * pam_try — test helper (never installed): one call of backends/pam.h,
 * its result as one line of JSON on stdout, the log (debug level) on stderr.
 *
 *	pam_try sign-in SERVICE USER RHOST < password   (stdin's bytes as they are)
 *	pam_try account SERVICE USER RHOST
 *	pam_try identity USER
 *
 *	{"result": "ok", "fail_delay_us": 0, "elapsed_ms": 12,
 *	 "identity": {"username": …, "id": …, "display_name": …, "groups": […]}}
 *
 * tests/integration/test_pam.py runs it under pam_wrapper and nss_wrapper,
 * so the real libpam reads the test's service files and users.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "pam.h"
#include "util.h"

static json_t *
identity_json(const struct identity *id)
{
	json_t *groups = json_array();

	for (size_t i = 0; i < id->n_groups; i++)
		json_array_append_new(groups, json_string(id->groups[i]));
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "username", id->username,
	    "id", id->id, "display_name", id->display_name, "dn", id->dn, "groups", groups);
}

static int
usage(void)
{
	fprintf(stderr, "usage: pam_try sign-in SERVICE USER RHOST < password\n"
	    "       pam_try account SERVICE USER RHOST\n"
	    "       pam_try identity USER\n");
	return 2;
}

int
main(int argc, char **argv)
{
	/* One byte over the limit, so an oversize password reaches the code under test. */
	char password[IDB_MAX_PASSWORD_LEN + 2];
	struct identity id = { 0 };
	enum auth_result r;
	unsigned delay_us = 0;
	size_t password_len;
	uint64_t start;
	json_t *out;

	log_set_ident("pam_try");
	log_set_level(LOG_LVL_DEBUG);
	if (argc == 5 && strcmp(argv[1], "sign-in") == 0) {
		password_len = fread(password, 1, sizeof(password), stdin);
		start = now_ms();
		r = idb_pam_sign_in(argv[2], argv[3], password, password_len, argv[4],
		    &delay_us, &id);
		explicit_bzero(password, sizeof(password));
	} else if (argc == 5 && strcmp(argv[1], "account") == 0) {
		start = now_ms();
		r = idb_pam_account(argv[2], argv[3], argv[4], &id);
	} else if (argc == 3 && strcmp(argv[1], "identity") == 0) {
		start = now_ms();
		r = idb_pam_identity(argv[2], &id);
	} else {
		return usage();
	}
	out = json_pack("{s:s, s:I, s:I, s:o}", "result", auth_result_name(r),
	    "fail_delay_us", (json_int_t)delay_us, "elapsed_ms", (json_int_t)(now_ms() - start),
	    "identity", r == AUTH_OK ? identity_json(&id) : json_null());
	identity_free(&id);
	if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
		fprintf(stderr, "pam_try: cannot print the result\n");
		json_decref(out);
		return 1;
	}
	putchar('\n');
	json_decref(out);
	return 0;
}
