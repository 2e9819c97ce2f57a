/* child.h - rare, memory-hungry work (a key pair, a certificate) done in a
 * short-lived child process: the library state it builds (OpenSSL's method
 * tables, caches) dies with the child instead of staying in the daemon's
 * heap for its whole life. The child is the same program with the same
 * privileges; it touches neither zmq nor the bus, only what fn does. */
#pragma once
#include "err.h"

/* Runs fn(ud, e) in a forked child and waits for it (the caller blocks for
 * as long as fn takes). Returns fn's result, with the child's *e copied back
 * when it failed; -ECHILD (with a message in e) when the child could not be
 * started or died without an answer. fn must not use zmq or the bus. */
int ds_child_run(int (*fn)(void *ud, struct ds_err *e), void *ud, struct ds_err *e);
