/* curl_loop.h - libcurl's multi interface driven by a daemon's zloop: the
 * sockets curl wants watched and its one timer become zloop pollers and a
 * zloop timer, so transfers run in the daemon's one loop, with no thread.
 * Used by every daemon that talks to a server with libcurl (smtp-notifier,
 * sftp-storage). */
#pragma once
#include <stdbool.h>

#include <curl/curl.h>
#include <czmq.h>

struct ds_curl_loop {
        CURLM *multi;          /* add and remove easy handles here */
        zloop_t *const *loop;  /* the daemon's loop, read when curl asks (it may not exist at init) */
        int timer;             /* zloop timer id, -1 none */
        void (*check)(void *ud); /* after curl ran: read curl_multi_info_read(multi) */
        void *ud;
        bool global;           /* this loop called curl_global_init (ds_curl_loop_open) */
};

/* 0 or -ENOMEM. check is called on the loop each time curl made progress. */
int ds_curl_loop_init(struct ds_curl_loop *c, zloop_t *const *loop, void (*check)(void *ud), void *ud);
/* The same without libcurl: multi stays NULL until ds_curl_loop_open. A
 * daemon that may never transfer anything (no server configured, nothing
 * queued) so keeps curl's and its TLS library's start-up allocations (well
 * over 100 KiB of heap) out of its idle memory. */
void ds_curl_loop_prepare(struct ds_curl_loop *c, zloop_t *const *loop, void (*check)(void *ud), void *ud);
/* Before the first transfer: libcurl's global state (curl_global_init, once
 * per process; ended by ds_curl_loop_fini) and the multi handle. 0 (also when
 * already open) or -ENOMEM. */
int ds_curl_loop_open(struct ds_curl_loop *c);
/* Ends the timer and the multi handle; the caller has removed its easy handles. */
void ds_curl_loop_fini(struct ds_curl_loop *c);
