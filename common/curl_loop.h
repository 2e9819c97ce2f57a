/* curl_loop.h - libcurl's multi interface driven by a daemon's zloop: the
 * sockets curl wants watched and its one timer become zloop pollers and a
 * zloop timer, so transfers run in the daemon's one loop, with no thread.
 * Used by every daemon that talks to a server with libcurl (smtp-notifier,
 * sftp-storage). */
#pragma once
#include <curl/curl.h>
#include <czmq.h>

struct ds_curl_loop {
        CURLM *multi;          /* add and remove easy handles here */
        zloop_t *const *loop;  /* the daemon's loop, read when curl asks (it may not exist at init) */
        int timer;             /* zloop timer id, -1 none */
        void (*check)(void *ud); /* after curl ran: read curl_multi_info_read(multi) */
        void *ud;
};

/* 0 or -ENOMEM. check is called on the loop each time curl made progress. */
int ds_curl_loop_init(struct ds_curl_loop *c, zloop_t *const *loop, void (*check)(void *ud), void *ud);
/* Ends the timer and the multi handle; the caller has removed its easy handles. */
void ds_curl_loop_fini(struct ds_curl_loop *c);
