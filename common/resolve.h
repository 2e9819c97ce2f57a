/* resolve.h - asynchronous name resolution on a daemon's zloop, once for every
 * daemon that names a server (timed's NTP and NTS servers, logd's remote syslog).
 * glibc's getaddrinfo_a() looks the name up on its own thread and a zloop timer
 * picks the answer up, so no handler ever waits for DNS. A numeric address is
 * answered without a lookup. The callback always runs from the loop, never from
 * inside ds_resolve_start(). */
#pragma once
#include <czmq.h>
#include <netdb.h>
#include <stdbool.h>

typedef struct ds_resolve ds_resolve_t;

/* err: 0 with the addresses in ai (valid during the call only), else an EAI_*
 * code (EAI_AGAIN also when no answer came within the deadline). The lookup is
 * over when this is called: the caller forgets its handle. */
typedef void ds_resolve_fn(void *ud, int err, const struct addrinfo *ai);

/* host and port as getaddrinfo takes them; hints may be NULL. 0 or -errno
 * (-ENAMETOOLONG for a name over 255 bytes, -EAGAIN when glibc cannot start). */
int ds_resolve_start(zloop_t *loop, const char *host, const char *port, const struct addrinfo *hints, int timeout_ms,
                     ds_resolve_fn *cb, void *ud, ds_resolve_t **ret);

/* No callback after this. A lookup glibc cannot cancel is left to finish on its
 * own timer and freed then; with wait (a daemon stopping: its loop is about to
 * go) it is awaited up to 2 s instead. NULL is fine. */
void ds_resolve_cancel(ds_resolve_t **rp, bool wait);
