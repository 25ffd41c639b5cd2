/*
 * ldap_backend.h — the LDAP / Active Directory backend (ldap.c).
 *
 * Only the registry in backend.c needs this: everything else reaches the
 * backend through backend_find("ldap").  The config passed to init() must
 * outlive the backend (the daemon keeps it for its whole run).
 */
#ifndef IDBRIDGE_LDAP_BACKEND_H
#define IDBRIDGE_LDAP_BACKEND_H

#include "backend.h"

extern const struct backend_ops ldap_backend_ops;

#endif
