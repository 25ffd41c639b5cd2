/*
 * bench/ldapload.c — the raw directory rate bench/run compares sign-in to.
 *
 * N threads, each with two connections it keeps for the whole run: one
 * bound as the service account, which searches for the user with idbridge's
 * default user filter, and one on which the user DN the search returned is
 * bound with the user's password.  One search plus one bind is one
 * operation: the least a directory sign-in costs when connections are pooled
 * and reused.  Runs for a fixed time and prints one line:
 *
 *     ops=N seconds=S rate=R p50_us=A p99_us=B errors=E
 *
 * Usage: ldapload -H URI -D SERVICE_DN -y SERVICE_PW_FILE -b USER_BASE
 *                 -u USER -Y USER_PW_FILE [-c CONNECTIONS] [-d SECONDS]
 *
 * Not installed; built by `make bench/ldapload`.
 */
#include "autoconfig.h"

#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define MAX_SECRET 1024

struct opts {
	const char *uri, *service_dn, *base, *user;
	char service_pw[MAX_SECRET], user_pw[MAX_SECRET];
	char filter[512];
	unsigned threads;
	double seconds;
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	double deadline;
	unsigned long ops, errors;
	double *lat;            /* microseconds of each operation */
	size_t nlat, caplat;
	int failed;             /* could not connect or bind the service account */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The first line of a file, without its newline.  0 or -1. */
static int
read_secret(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	int rc = -1;

	if (f == NULL) {
		fprintf(stderr, "ldapload: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(out, (int)size, f) != NULL) {
		out[strcspn(out, "\r\n")] = '\0';
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* A connection bound as dn, or NULL. */
static LDAP *
connect_bound(const char *uri, const char *dn, const char *pw)
{
	LDAP *ld = NULL;
	int version = LDAP_VERSION3;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
		return NULL;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (dn != NULL) {
		struct berval cred = { strlen(pw), (char *)(uintptr_t)pw };

		if (ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) !=
		    LDAP_SUCCESS) {
			ldap_unbind_ext_s(ld, NULL, NULL);
			return NULL;
		}
	}
	return ld;
}

/* The DN of the one entry the search finds, or NULL. */
static char *
find_dn(LDAP *ld, const struct opts *o)
{
	static char *attrs[] = { "uid", "cn", "mail", NULL };
	LDAPMessage *res = NULL, *e;
	char *dn = NULL;

	if (ldap_search_ext_s(ld, o->base, LDAP_SCOPE_SUBTREE, o->filter, attrs, 0, NULL,
	    NULL, NULL, 2, &res) == LDAP_SUCCESS && ldap_count_entries(ld, res) == 1 &&
	    (e = ldap_first_entry(ld, res)) != NULL)
		dn = ldap_get_dn(ld, e);
	ldap_msgfree(res);
	return dn;
}

static void
record(struct worker *w, double us)
{
	if (w->nlat == w->caplat) {
		size_t cap = w->caplat ? w->caplat * 2 : 4096;
		double *p = realloc(w->lat, cap * sizeof(*p));

		if (p == NULL)
			return;
		w->lat = p;
		w->caplat = cap;
	}
	w->lat[w->nlat++] = us;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	LDAP *svc = connect_bound(o->uri, o->service_dn, o->service_pw);
	LDAP *usr = connect_bound(o->uri, NULL, NULL);

	if (svc == NULL || usr == NULL) {
		w->failed = 1;
		goto out;
	}
	while (now_s() < w->deadline) {
		double t0 = now_s();
		char *dn = find_dn(svc, o);
		struct berval cred = { strlen(o->user_pw), (char *)(uintptr_t)o->user_pw };

		if (dn != NULL && ldap_sasl_bind_s(usr, dn, LDAP_SASL_SIMPLE, &cred, NULL,
		    NULL, NULL) == LDAP_SUCCESS) {
			w->ops++;
			record(w, (now_s() - t0) * 1e6);
		} else
			w->errors++;
		ldap_memfree(dn);
	}
out:
	if (svc != NULL)
		ldap_unbind_ext_s(svc, NULL, NULL);
	if (usr != NULL)
		ldap_unbind_ext_s(usr, NULL, NULL);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(struct worker *w, unsigned n, double seconds)
{
	unsigned long ops = 0, errors = 0;
	size_t total = 0, k = 0;
	double *all, p50 = 0, p99 = 0;

	for (unsigned i = 0; i < n; i++) {
		ops += w[i].ops;
		errors += w[i].errors;
		total += w[i].nlat;
	}
	if (total > 0 && (all = malloc(total * sizeof(*all))) != NULL) {
		for (unsigned i = 0; i < n; i++) {
			memcpy(all + k, w[i].lat, w[i].nlat * sizeof(*all));
			k += w[i].nlat;
		}
		qsort(all, total, sizeof(*all), cmp_double);
		p50 = all[total / 2];
		p99 = all[(size_t)(total * 0.99)];
		free(all);
	}
	printf("ops=%lu seconds=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f errors=%lu\n",
	    ops, seconds, ops / seconds, p50, p99, errors);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ldapload -H URI -D SERVICE_DN -y SERVICE_PW_FILE -b USER_BASE "
	    "-u USER -Y USER_PW_FILE [-c CONNECTIONS] [-d SECONDS]\n");
	exit(2);
}

static void
parse(int argc, char **argv, struct opts *o)
{
	const char *spw = NULL, *upw = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "H:D:y:b:u:Y:c:d:")) != -1) {
		switch (ch) {
		case 'H': o->uri = optarg; break;
		case 'D': o->service_dn = optarg; break;
		case 'y': spw = optarg; break;
		case 'b': o->base = optarg; break;
		case 'u': o->user = optarg; break;
		case 'Y': upw = optarg; break;
		case 'c': o->threads = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': o->seconds = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (o->uri == NULL || o->service_dn == NULL || spw == NULL || o->base == NULL ||
	    o->user == NULL || upw == NULL || o->threads == 0 || o->threads > MAX_THREADS ||
	    !(o->seconds > 0))
		usage();
	/* The bench's user names are plain: no filter escaping needed. */
	if (strpbrk(o->user, "*()\\") != NULL ||
	    read_secret(spw, o->service_pw, sizeof(o->service_pw)) != 0 ||
	    read_secret(upw, o->user_pw, sizeof(o->user_pw)) != 0)
		exit(2);
	snprintf(o->filter, sizeof(o->filter), "(&(objectClass=inetOrgPerson)(uid=%s))", o->user);
}

int
main(int argc, char **argv)
{
	struct opts o = { .threads = 32, .seconds = 10 };
	struct worker *w;
	double t0, elapsed;
	int failed = 0;

	parse(argc, argv, &o);
	if ((w = calloc(o.threads, sizeof(*w))) == NULL)
		return 1;
	t0 = now_s();
	for (unsigned i = 0; i < o.threads; i++) {
		w[i].o = &o;
		w[i].deadline = t0 + o.seconds;
		if (pthread_create(&w[i].tid, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "ldapload: cannot start a thread\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < o.threads; i++) {
		pthread_join(w[i].tid, NULL);
		failed |= w[i].failed;
	}
	elapsed = now_s() - t0;
	report(w, o.threads, elapsed);
	for (unsigned i = 0; i < o.threads; i++)
		free(w[i].lat);
	free(w);
	explicit_bzero(o.service_pw, sizeof(o.service_pw));
	explicit_bzero(o.user_pw, sizeof(o.user_pw));
	if (failed)
		fprintf(stderr, "ldapload: a connection could not be opened or bound\n");
	return failed;
}
