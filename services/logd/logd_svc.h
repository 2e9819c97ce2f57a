/* logd_svc.h - the daemon's context, shared by main.c and methods.c */
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
        /* bounded ingest queue (ring) */
        struct qent *q;
        size_t q_max, q_head, q_len;
        uint64_t dropped, dropped_reported, write_errors;
        bool quota_warned;
        struct logd_rec *rec; /* scratch for the drain */
};

extern const struct ds_method logd_methods[];
extern const struct ds_field logd_settings[];
extern const struct ds_audit_item logd_audit[];

int logd_queue_init(struct logd_ctx *x, size_t max);
void logd_queue_free(struct logd_ctx *x);
void logd_drain(struct logd_ctx *x);
int logd_init(struct ds_daemon *d, void *ctx);
int logd_start(struct ds_daemon *d, void *ctx);
void logd_stop(struct ds_daemon *d, void *ctx);
int logd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e);
void logd_status(struct ds_daemon *d, void *ctx, struct mpw *w);
