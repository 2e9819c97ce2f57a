/* logd_svc.h - the daemon's context, shared by main.c, methods.c and ingest.c */
#pragma once
#include "logd.h"
#include "service.h"

struct qent;

struct logd_ctx {
        struct ds_daemon *d;
        logd_store_t *store;
        logd_remote_t *remote;
        struct logd_store_cfg cfg;
        struct logd_remote_cfg remote_cfg;
        int64_t seal_interval_ms;
        size_t queue_max;
        /* bounded ingest queue, emptied by every drain */
        struct qent *q;
        size_t q_max, q_len;
        char *arena; /* messages and fields of the queued records */
        size_t a_len, a_cap;
        struct mpw fw; /* fields being copied (reused) */
        uint64_t dropped, dropped_reported, write_errors;
        bool quota_warned;
        struct seal_rec *rec; /* scratch for the drain */
};

/* methods.c */
extern const struct ds_method logd_methods[];
extern const struct ds_field logd_settings[];
extern const struct ds_audit_item logd_audit[];
/* The store's limits from the settings. */
void logd_settings_store(const struct ds_settings *s, struct logd_store_cfg *ret);
/* The settings into the context (store limits, remote target), validated as a whole. */
int logd_settings_apply(struct logd_ctx *x, const struct ds_settings *s, struct ds_err *e);
int logd_settings_check(const struct ds_settings *s, struct ds_err *e);

/* ingest.c */
int logd_queue_init(struct logd_ctx *x, size_t max);
void logd_queue_free(struct logd_ctx *x);
/* Appends what is queued (one write), then maintains the store and kicks the forwarder. */
void logd_drain(struct logd_ctx *x);
/* Subscriptions and the drain and tick timers. */
int logd_ingest_start(struct logd_ctx *x);
