/* ingest.c - from the bus into the store: the subscription, the bounded queue,
 * and the drain (every 10 ms and before any read) that appends a batch with one
 * write; the 1 s tick seals, moves the key on and maintains the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logd_svc.h"
#include "util.h"

/* One queued record: the short strings inline, msg and fields in the arena, so
 * that queueing a record allocates nothing (the arena grows to its high-water
 * mark and is reused after each drain). */
struct qent {
        int64_t ts, pub_ts, mono;
        char service[33], category[16], level[12], user[33], src[64];
        size_t msg_off, msg_len, f_off, f_len;
};

int logd_queue_init(struct logd_ctx *x, size_t max)
{
        struct qent *q = calloc(max, sizeof *q);

        if (!q)
                return -ENOMEM;
        x->q = q;
        x->q_max = max;
        x->q_len = 0;
        x->a_len = 0;
        return 0;
}

void logd_queue_free(struct logd_ctx *x)
{
        free(x->q);
        free(x->arena);
        x->q = NULL;
        x->arena = NULL;
        x->q_len = x->a_len = x->a_cap = 0;
}

static int arena_put(struct logd_ctx *x, const void *p, size_t n, size_t *ret_off)
{
        if (n == 0) { /* an empty message: nothing to copy (the arena may not exist yet) */
                *ret_off = x->a_len;
                return 0;
        }
        if (x->a_len + n > x->a_cap) {
                size_t cap = x->a_cap ? x->a_cap : 64 * 1024;
                char *na;
                while (cap < x->a_len + n)
                        cap *= 2;
                if (!(na = realloc(x->arena, cap)))
                        return -ENOMEM;
                x->arena = na;
                x->a_cap = cap;
        }
        memcpy(x->arena + x->a_len, p, n);
        *ret_off = x->a_len;
        x->a_len += n;
        return 0;
}

static void scopy(char *dst, size_t size, const char *src, size_t n)
{
        size_t k = n < size - 1 ? n : size - 1;

        /* control bytes would break RFC 5424 and terminals: replace them */
        for (size_t i = 0; i < k; i++)
                dst[i] = (unsigned char)src[i] < 0x20 && src[i] != '\t' ? ' ' : src[i];
        dst[k] = '\0';
}

/* A string value (or def when it is absent, empty or not a string). */
static void mcopy(char *dst, size_t size, const msgpack_object *v, const char *def)
{
        if (v && v->type == MSGPACK_OBJECT_STR && v->via.str.size)
                scopy(dst, size, v->via.str.ptr, v->via.str.size);
        else
                snprintf(dst, size, "%s", def);
}

/* The values an event's map may carry for its record, found in one pass (the
 * first of duplicate keys counts, as with mp_get). */
struct evkeys {
        const msgpack_object *level, *user, *msg, *fields;
};

static bool key_eq(const msgpack_object *k, const char *s, size_t n)
{
        return k->via.str.size == n && !memcmp(k->via.str.ptr, s, n);
}

static void evkeys_find(const msgpack_object *m, struct evkeys *ret)
{
        *ret = (struct evkeys){ 0 };
        for (uint32_t i = 0; m && i < m->via.map.size; i++) {
                const msgpack_object *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
                const msgpack_object **slot = NULL;
                if (k->type != MSGPACK_OBJECT_STR)
                        continue;
                if (key_eq(k, "level", 5))
                        slot = &ret->level;
                else if (key_eq(k, "user", 4))
                        slot = &ret->user;
                else if (key_eq(k, "msg", 3))
                        slot = &ret->msg;
                else if (key_eq(k, "fields", 6))
                        slot = &ret->fields;
                if (slot && !*slot)
                        *slot = v;
        }
}

static const char *const categories[] = { "system", "security", "operation", "event", NULL };

static bool known_category(const char *c)
{
        for (const char *const *p = categories; *p; p++)
                if (!strcmp(*p, c))
                        return true;
        return false;
}

/* Security events logd records on its own behalf, by topic prefix. */
static const struct {
        const char *prefix;
        const char *category;
        const char *level;
} event_topics[] = {
        { "time.changed", "security", "notice" },
        { "auth.locked", "security", "warning" },
        { "filter.", "security", "notice" },
};

/* "key=value" of the scalar fields of an event, for the record's message */
static void describe(char *buf, size_t size, const char *topic, const msgpack_object *data)
{
        size_t o = (size_t)snprintf(buf, size, "%s", topic);

        for (uint32_t i = 0; data && data->type == MSGPACK_OBJECT_MAP && i < data->via.map.size && o < size; i++) {
                const msgpack_object *k = &data->via.map.ptr[i].key, *v = &data->via.map.ptr[i].val;
                if (k->type != MSGPACK_OBJECT_STR)
                        continue;
                if (v->type == MSGPACK_OBJECT_STR)
                        o += (size_t)snprintf(buf + o, size - o, " %.*s=%.*s", (int)k->via.str.size, k->via.str.ptr,
                                              (int)(v->via.str.size > 128 ? 128 : v->via.str.size), v->via.str.ptr);
                else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
                        int64_t n = 0;
                        mp_to_int64(v, &n);
                        o += (size_t)snprintf(buf + o, size - o, " %.*s=%lld", (int)k->via.str.size, k->via.str.ptr,
                                              (long long)n);
                }
        }
}

static void on_event(void *ud, const char *topic, const char *src, int64_t ts, const msgpack_object *data)
{
        struct logd_ctx *x = ud;
        const msgpack_object *m = data && data->type == MSGPACK_OBJECT_MAP ? data : NULL, *f;
        char msg[LOGD_MSG_MAX + 1];
        struct evkeys ek;
        struct qent *e;

        if (x->q_len == x->q_max) {
                /* the drain timer empties the queue; a burst beyond its bound is counted, never blocks */
                x->dropped++;
                return;
        }
        e = &x->q[x->q_len];
        evkeys_find(m, &ek);
        f = ek.fields;
        /* who and when are logd's facts, not the publisher's claims: the service
         * is busd's `src` stamp, the time logd's clock at ingest; the publisher's
         * time is kept apart as pub_ts */
        *e = (struct qent){ .ts = ds_now_real_ms(), .pub_ts = ts > 0 ? ts : 0, .mono = ds_now_mono_ms() };
        scopy(e->src, sizeof e->src, src && *src ? src : "unknown", src && *src ? strlen(src) : 7);
        if (!strncmp(topic, "log.", 4)) {
                const char *cat = topic + 4;
                bool known = known_category(cat);
                scopy(e->category, sizeof e->category, known ? cat : "system", strlen(known ? cat : "system"));
                scopy(e->service, sizeof e->service, e->src, strlen(e->src));
                mcopy(e->level, sizeof e->level, ek.level, "info");
                if (logd_level_severity(e->level) < 0)
                        snprintf(e->level, sizeof e->level, "info");
                mcopy(e->user, sizeof e->user, ek.user, "");
                if (known)
                        mcopy(msg, sizeof msg, ek.msg, "");
                else
                        describe(msg, sizeof msg, topic, m);
        } else {
                size_t i;
                for (i = 0; i < sizeof event_topics / sizeof *event_topics; i++)
                        if (!strncmp(topic, event_topics[i].prefix, strlen(event_topics[i].prefix)))
                                break;
                if (i == sizeof event_topics / sizeof *event_topics)
                        return;
                snprintf(e->category, sizeof e->category, "%s", event_topics[i].category);
                snprintf(e->level, sizeof e->level, "%s", event_topics[i].level);
                scopy(e->service, sizeof e->service, e->src, strlen(e->src));
                mcopy(e->user, sizeof e->user, ek.user, "");
                describe(msg, sizeof msg, topic, m);
                f = m; /* the whole event is the structured data */
        }
        e->msg_len = strlen(msg);
        if (arena_put(x, msg, e->msg_len, &e->msg_off) < 0) {
                x->dropped++;
                return;
        }
        if (f && f->type == MSGPACK_OBJECT_MAP) {
                mpw_reset(&x->fw);
                mpw_obj(&x->fw, f);
                if (mpw_len(&x->fw) <= LOGD_FIELDS_MAX && arena_put(x, mpw_data(&x->fw), mpw_len(&x->fw), &e->f_off) == 0)
                        e->f_len = mpw_len(&x->fw);
        }
        x->q_len++;
}

int logd_ingest_subscribe(struct logd_ctx *x)
{
        static const char *const topics[] = { "log.", "time.changed", "auth.locked", "filter." };

        for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
                if (bus_subscribe(x->d->bus, topics[i], on_event, x) < 0)
                        return -ENOMEM;
        return 0;
}

/* ---- store maintenance ------------------------------------------------------------ */

static void publish_storage(struct logd_ctx *x)
{
        struct logd_store_info in;
        uint64_t quota, used;
        int pct;
        struct mpw w;

        logd_store_info(x->store, &in);
        quota = in.quota_bytes;
        used = in.bytes;
        pct = quota ? (int)(used * 100 / quota) : 0;

        if (pct >= 80 && !x->quota_warned) {
                x->quota_warned = true;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_uint(&w, "used_bytes", used);
                mpw_kv_uint(&w, "quota_bytes", quota);
                mpw_kv_int(&w, "percent", pct);
                mpw_map_end(&w);
                if (x->d)
                        ds_daemon_publish(x->d, "log.storage.threshold", &w);
                mpw_free(&w);
                log_warn("store: %d%% of the quota used (%llu of %llu bytes)", pct, (unsigned long long)used,
                         (unsigned long long)quota);
        } else if (pct < 70) {
                x->quota_warned = false;
        }
}

#define ARENA_KEEP (4u << 20)

static uint64_t forwarded_to(const struct logd_ctx *x)
{
        return logd_remote_enabled(x->remote) ? logd_remote_acked(x->remote) : UINT64_MAX;
}

void logd_drain(struct logd_ctx *x)
{
        struct seal_rec *rec = x->rec;
        size_t n = x->q_len;

        if (!n)
                return;
        for (size_t i = 0; i < n; i++) {
                const struct qent *e = &x->q[i];
                rec->ts = e->ts;
                rec->pub_ts = e->pub_ts;
                rec->mono = e->mono;
                memcpy(rec->service, e->service, sizeof rec->service);
                memcpy(rec->category, e->category, sizeof rec->category);
                memcpy(rec->level, e->level, sizeof rec->level);
                memcpy(rec->user, e->user, sizeof rec->user);
                memcpy(rec->src, e->src, sizeof rec->src);
                if (e->msg_len) /* an empty message may have no arena behind it */
                        memcpy(rec->msg, x->arena + e->msg_off, e->msg_len);
                rec->msg[e->msg_len] = '\0';
                rec->fields = e->f_len ? x->arena + e->f_off : NULL;
                rec->fields_len = e->f_len;
                rec->prune = false;
                if (logd_store_append(x->store, rec) < 0)
                        x->write_errors++;
                /* rotate on the record that fills a segment, not once per batch */
                logd_store_maintain(x->store, rec->ts, forwarded_to(x));
        }
        x->q_len = 0;
        x->a_len = 0;
        if (x->a_cap > ARENA_KEEP) {
                free(x->arena); /* a burst's arena is not kept */
                x->arena = NULL;
                x->a_cap = 0;
        }
        logd_store_flush(x->store);
        publish_storage(x);
        logd_remote_kick(x->remote);
}

static int on_drain(zloop_t *loop, int timer_id, void *arg)
{
        (void)loop;
        (void)timer_id;
        logd_drain(arg);
        return 0;
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct logd_ctx *x = arg;
        int64_t now = ds_now_real_ms();
        struct logd_store_info in;

        (void)loop;
        (void)timer_id;
        logd_drain(x);
        logd_store_info(x->store, &in);
        if (in.unsealed && ds_now_mono_ms() - in.last_seal_mono >= x->seal_interval_ms)
                logd_store_seal(x->store);
        /* forward security in quiet times too: the key moves on with the clock */
        logd_store_tick(x->store, now);
        logd_store_maintain(x->store, now, forwarded_to(x));
        publish_storage(x);
        if (x->dropped != x->dropped_reported) {
                struct mpw w;
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_uint(&w, "dropped", x->dropped);
                mpw_kv_uint(&w, "since_last", x->dropped - x->dropped_reported);
                mpw_map_end(&w);
                ds_daemon_publish(x->d, "logd.dropped", &w);
                mpw_free(&w);
                log_warn("ingest queue full: %llu records dropped so far", (unsigned long long)x->dropped);
                x->dropped_reported = x->dropped;
        }
        return 0;
}

int logd_ingest_start(struct logd_ctx *x)
{
        int r = logd_ingest_subscribe(x);

        if (r < 0)
                return r;
        zloop_timer(x->d->loop, 10, 0, on_drain, x);
        zloop_timer(x->d->loop, 1000, 0, on_tick, x);
        return 0;
}
