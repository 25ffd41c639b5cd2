/*
 * pam_talk — a PAM module for the tests only (never installed): its auth
 * and account steps make ONE conversation call with the messages its arguments
 * describe, so tests/integration/test_pam.py can drive backends/pam.c's
 * conversation through the real libpam with what Debian's test modules
 * never send (many messages in one call, over-long text, odd styles).
 *
 *	auth required /path/pam_talk count=N style=info|error|echo_off|echo_on|binary len=L
 *	    [noreply] [setcred_mark=FILE]
 *
 * It succeeds when the conversation answered every message and a reply to
 * each echo-off prompt was given; otherwise it returns the conversation's
 * error (PAM_CONV_ERR when the call itself succeeded without a reply).
 * noreply passes no response pointer, as some modules do for messages.
 * pam_sm_setcred creates FILE, so a test sees whether pam_setcred ran.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>
#include <security/pam_modules.h>

/* More than the conversation accepts, so the tests can pass its cap. */
#define TALK_MAX_COUNT 64
#define TALK_MAX_LEN 4096
#define TALK_BINARY_PROMPT 7   /* Linux-PAM's PAM_BINARY_PROMPT */

struct talk {
	int count;
	int style;
	size_t len;
	const char *setcred_mark;
	int noreply;
};

static int
parse_style(const char *s)
{
	if (strcmp(s, "info") == 0)
		return PAM_TEXT_INFO;
	if (strcmp(s, "error") == 0)
		return PAM_ERROR_MSG;
	if (strcmp(s, "echo_off") == 0)
		return PAM_PROMPT_ECHO_OFF;
	if (strcmp(s, "echo_on") == 0)
		return PAM_PROMPT_ECHO_ON;
	if (strcmp(s, "binary") == 0)
		return TALK_BINARY_PROMPT;
	return -1;
}

static int
parse_args(int argc, const char **argv, struct talk *t)
{
	t->count = 1;
	t->style = PAM_TEXT_INFO;
	t->len = 8;
	t->setcred_mark = NULL;
	t->noreply = 0;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "count=", 6) == 0)
			t->count = atoi(argv[i] + 6);
		else if (strncmp(argv[i], "style=", 6) == 0)
			t->style = parse_style(argv[i] + 6);
		else if (strncmp(argv[i], "len=", 4) == 0)
			t->len = (size_t)atoi(argv[i] + 4);
		else if (strcmp(argv[i], "noreply") == 0)
			t->noreply = 1;
		else if (strncmp(argv[i], "setcred_mark=", 13) == 0)
			t->setcred_mark = argv[i] + 13;
		else
			return -1;
	}
	if (t->count < 1 || t->count > TALK_MAX_COUNT || t->style < 0 || t->len > TALK_MAX_LEN)
		return -1;
	return 0;
}

static int
check_replies(const struct talk *t, const struct pam_response *resp)
{
	if (t->style != PAM_PROMPT_ECHO_OFF)
		return PAM_SUCCESS;
	if (resp == NULL)
		return PAM_CONV_ERR;
	for (int i = 0; i < t->count; i++)
		if (resp[i].resp == NULL)
			return PAM_CONV_ERR;
	return PAM_SUCCESS;
}

static int
talk(pam_handle_t *pamh, int argc, const char **argv)
{
	struct pam_message msgs[TALK_MAX_COUNT];
	const struct pam_message *ptrs[TALK_MAX_COUNT];
	const struct pam_conv *conv = NULL;
	struct pam_response *resp = NULL;
	char *text = NULL;
	struct talk t;
	int rc = PAM_SERVICE_ERR;

	if (parse_args(argc, argv, &t) != 0 || (text = malloc(t.len + 1)) == NULL)
		goto out;
	memset(text, 'm', t.len);
	text[t.len] = '\0';
	for (int i = 0; i < t.count; i++) {
		msgs[i].msg_style = t.style;
		msgs[i].msg = text;
		ptrs[i] = &msgs[i];
	}
	rc = pam_get_item(pamh, PAM_CONV, (const void **)&conv);
	if (rc != PAM_SUCCESS || conv == NULL || conv->conv == NULL) {
		rc = PAM_CONV_ERR;
		goto out;
	}
	rc = conv->conv(t.count, ptrs, t.noreply ? NULL : &resp, conv->appdata_ptr);
	if (rc == PAM_SUCCESS && !t.noreply)
		rc = check_replies(&t, resp);
out:
	if (resp != NULL) {
		for (int i = 0; i < t.count; i++)
			if (resp[i].resp != NULL) {
				explicit_bzero(resp[i].resp, strlen(resp[i].resp));
				free(resp[i].resp);
			}
		free(resp);
	}
	free(text);
	return rc;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return talk(pamh, argc, argv);
}

/* The account step talks the same way (the account request has no password). */
PAM_EXTERN int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	return talk(pamh, argc, argv);
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct talk t;
	FILE *f;

	(void)pamh;
	(void)flags;
	if (parse_args(argc, argv, &t) != 0)
		return PAM_SERVICE_ERR;
	if (t.setcred_mark != NULL) {
		if ((f = fopen(t.setcred_mark, "w")) == NULL)
			return PAM_SYSTEM_ERR;
		fclose(f);
	}
	return PAM_SUCCESS;
}
