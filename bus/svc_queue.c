/* svc_queue.c - the skeleton of a daemon that delivers from a persistent
 * queue (common/queue.h): smtp-notifier's outbox, sftp-storage's uploads.
 * Their limits, level events, expiry, counters and the queue/retry/purge
 * methods: one set of argument checks, answers and audit records. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"
#include "service.h"
#include "state.h"
#include "util.h"

const struct ds_field ds_queue_id_args[DS_QUEUE_N + 1] = {
        [DS_QUEUE_ID] = { "id", DS_STR, 0, .min_len = DSQ_ID_LEN, .max_len = DSQ_ID_LEN, .check = ds_check_name,
          .help = "one item; default all" },
        [DS_QUEUE_FAILED_ONLY] = { "failed_only", DS_BOOL, 0, .help = "purge: only the failed folder" },
        { NULL },
};

int ds_queue_retry(struct ds_call *c, dsq_t *q, const char *item, const char *place)
{
        char id[DSQ_ID_LEN + 1];
        int n;

        ds_tb_str(c, DS_QUEUE_ID, id, sizeof id);
        if (ds_tb_has(c, DS_QUEUE_FAILED_ONLY))
                return ds_call_fail(c, -EINVAL, "failed_only", "only for purge");
        n = dsq_retry(q, id[0] ? id : NULL, ds_now_real_ms());
        if (n == -ENOENT)
                return ds_call_fail(c, -ENOENT, "id", "no such %s in the %s", item, place);
        if (n < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "retry: %s", strerror(-n));
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%d %s(s) in the %s retried by '%s'", n, item, place,
                  ds_call_actor(c));
        mpw_kv_int(c->r, "retried", n);
        return n;
}

int ds_queue_purge(struct ds_call *c, dsq_t *q, const char *item, const char *place)
{
        char id[DSQ_ID_LEN + 1];
        int n;

        ds_tb_str(c, DS_QUEUE_ID, id, sizeof id);
        n = dsq_purge(q, id[0] ? id : NULL, ds_tb_bool(c, DS_QUEUE_FAILED_ONLY, false));
        if (n == -ENOENT)
                return ds_call_fail(c, -ENOENT, "id", "no such %s in the %s (or it is in flight)", item, place);
        if (n < 0)
                return ds_call_fail(c, -DS_EINTERNAL, NULL, "purge: %s", strerror(-n));
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "%d %s(s) purged from the %s by '%s'", n, item,
                  place, ds_call_actor(c));
        mpw_kv_int(c->r, "purged", n);
        return n;
}

void ds_queue_limits(const struct ds_settings *s, uint64_t max_bytes, void (*on_level)(void *, unsigned, bool),
                     void *ud, struct dsq_limits *ret)
{
        *ret = (struct dsq_limits){
                .max_items = (uint32_t)ds_settings_int(s, "queue_max_items"),
                .max_bytes = max_bytes,
                .max_age_ms = ds_settings_int(s, "max_age_s") * 1000,
                .backoff_min_ms = ds_settings_int(s, "retry_min_s") * 1000,
                .backoff_max_ms = ds_settings_int(s, "retry_max_s") * 1000,
                .on_level = on_level,
                .ud = ud,
        };
}

dsq_t *ds_queue_open(struct ds_daemon *d, const char *place, const struct dsq_limits *lim, int *ret_err)
{
        char *dir = path_join(d->statedir, place);
        dsq_t *q;
        int r = 0;

        if (!dir) {
                *ret_err = -ENOMEM;
                return NULL;
        }
        if (!(q = dsq_open(dir, lim, &r))) {
                log_errno(r, "%s '%s': %m", place, dir);
                *ret_err = r;
        }
        free(dir);
        return q;
}

void ds_queue_level(struct ds_daemon *d, const char *topic, const char *place, unsigned pct, bool above)
{
        struct mpw w;

        if (above)
                log_warn("%s at %u%% of its quota", place, pct);
        else
                log_notice("%s back below its warning level (%u%%)", place, pct);
        if (!d || !d->bus)
                return;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_uint(&w, "pct", pct);
        mpw_kv_bool(&w, "above", above);
        mpw_map_end(&w);
        ds_daemon_publish(d, topic, &w);
        mpw_free(&w);
}

void ds_queue_expire(dsq_t *q, const char *item)
{
        int n = dsq_expire(q, ds_now_real_ms());

        if (n > 0)
                log_warn("%d %s(s) older than max_age moved to the failed folder", n, item);
}

void ds_queue_log_backlog(dsq_t *q, const char *item, const char *place)
{
        struct dsq_stats st;

        dsq_get_stats(q, &st);
        if (st.items)
                log_notice("%s: %u %s(s) waiting, %u failed", place, st.items, item, st.failed_items);
}

void ds_queue_write_stats(dsq_t *q, uint64_t refused, struct mpw *w)
{
        struct dsq_stats st;

        dsq_get_stats(q, &st);
        mpw_kv_uint(w, "queued", st.items);
        mpw_kv_uint(w, "in_flight", st.inflight);
        mpw_kv_uint(w, "failed", st.failed_items);
        mpw_kv_uint(w, "queue_bytes", st.bytes);
        mpw_kv_uint(w, "queue_level_pct", st.level_pct);
        mpw_kv_uint(w, "refused_full", refused);
        mpw_kv_uint(w, "expired", st.expired);
}

const struct ds_field ds_queue_list_args[DS_QUEUE_LIST_N + 1] = {
        [DS_QUEUE_MAX] = { "max", DS_INT, 0, .min = 1, .max = 1000, .help = "rows, default 100" },
        { NULL },
};

const char *ds_queue_state(const struct dsq_item *it, const char *busy)
{
        return it->failed ? "failed" : it->inflight ? busy : "queued";
}

struct qlist {
        dsq_t *q;
        struct mpw *w;
        void (*item)(void *ud, dsq_t *q, const struct dsq_item *it, struct mpw *w);
        void *ud;
        int64_t now, left;
};

static void list_one(void *ud, const struct dsq_item *it)
{
        struct qlist *l = ud;

        if (l->left-- <= 0)
                return;
        mpw_map_begin(l->w);
        mpw_kv_str(l->w, "id", it->id);
        l->item(l->ud, l->q, it, l->w);
        mpw_kv_uint(l->w, "attempts", it->attempts);
        mpw_kv_int(l->w, "age_s", (l->now - it->created_ms) / 1000);
        mpw_kv_int(l->w, "next_s", it->failed || it->next_ms <= l->now ? 0 : (it->next_ms - l->now + 999) / 1000);
        mpw_kv_str(l->w, "error", it->error);
        mpw_map_end(l->w);
}

void ds_queue_list(struct ds_call *c, dsq_t *q,
                   void (*item)(void *ud, dsq_t *q, const struct dsq_item *it, struct mpw *w), void *ud)
{
        struct qlist l = { .q = q, .w = c->r, .item = item, .ud = ud, .now = ds_now_real_ms(),
                           .left = ds_tb_int(c, DS_QUEUE_MAX, 100) };

        mpw_str(c->r, "items");
        mpw_arr_begin(c->r);
        dsq_foreach(q, list_one, &l);
        mpw_arr_end(c->r);
}
