/*
 * delayq.h — run a function at a given time on one timer thread.
 *
 * Failed sign-ins are answered no sooner than a fixed minimum after they
 * arrived, so a wrong password, an unknown user and a refused name all
 * take the same time.  No worker sleeps for that: the worker that
 * finished the directory call hands the (suspended) request here, and the
 * timer thread resumes it when its time has come.
 *
 * delayq_close() runs everything still waiting at once (shutdown must
 * answer every suspended request) and stops the thread.
 */
#ifndef IDBRIDGE_DELAYQ_H
#define IDBRIDGE_DELAYQ_H

#include <stdint.h>
#include "bridge.h"

struct delayq;

typedef void delayq_fn(void *arg);

struct delayq *delayq_new(void) IDB_WUR;
/* Run fn(arg) at (CLOCK_MONOTONIC ms) at_ms or soon after; at once when closed. */
void delayq_add(struct delayq *q, uint64_t at_ms, delayq_fn *fn, void *arg);
void delayq_close(struct delayq *q);
void delayq_free(struct delayq *q);

#endif
