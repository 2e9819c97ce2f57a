/* methods.c - logd's method table, settings, audit items, and the ingest path
 * (bus subscription -> bounded queue -> store, sealing/rotation/retention timers). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logd_svc.h"
#include "service.h"
#include "state.h"
#include "util.h"

/* ---- the bounded ingest queue ------------------------------------------------- */

struct qent {
        int64_t ts, pub_ts, mono;
        char service[33], category[16], level[12], user[33], src[64];
        char *msg;
        char *fields;
        size_t fields_len;
};

static void qent_free(struct qent *e)
{
        free(e->msg);
        free(e->fields);
        e->msg = e->fields = NULL;
}

int logd_queue_init(struct logd_ctx *x, size_t max)
{
        struct qent *q = calloc(max, sizeof *q);

        if (!q)
                return -ENOMEM;
        x->q = q;
        x->q_max = max;
        x->q_head = x->q_len = 0;
        return 0;
}

void logd_queue_free(struct logd_ctx *x)
{
        for (size_t i = 0; i < x->q_len; i++)
                qent_free(&x->q[(x->q_head + i) % x->q_max]);
        free(x->q);
        x->q = NULL;
        x->q_len = 0;
}

static void scopy(char *dst, size_t size, const char *src, size_t n)
{
        size_t k = n < size - 1 ? n : size - 1;

        /* control bytes would break RFC 5424 and terminals: replace them */
        for (size_t i = 0; i < k; i++)
                dst[i] = (unsigned char)src[i] < 0x20 && src[i] != '\t' ? ' ' : src[i];
        dst[k] = '\0';
}

static void mcopy(char *dst, size_t size, const msgpack_object *map, const char *key, const char *def)
{
        size_t n = 0;
        const char *p = map ? mp_get_strn(map, key, &n) : NULL;

        if (p && n)
                scopy(dst, size, p, n);
        else
                snprintf(dst, size, "%s", def);
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

static int enqueue(struct logd_ctx *x, struct qent *e)
{
        if (x->q_len == x->q_max) {
                x->dropped++;
                qent_free(e);
                return -ENOBUFS;
        }
        x->q[(x->q_head + x->q_len++) % x->q_max] = *e;
        return 0;
}

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
        /* who and when are logd's facts, not the publisher's claims: the service
         * is busd's `src` stamp, the time logd's clock at ingest; the publisher's
         * time is kept apart as pub_ts */
        struct qent e = { .ts = ds_now_real_ms(), .pub_ts = ts > 0 ? ts : 0, .mono = ds_now_mono_ms() };
        const msgpack_object *m = data && data->type == MSGPACK_OBJECT_MAP ? data : NULL;
        const msgpack_object *f = m ? mp_get(m, "fields") : NULL;
        char msg[LOGD_MSG_MAX + 1];

        scopy(e.src, sizeof e.src, src && *src ? src : "unknown", src && *src ? strlen(src) : 7);
        if (!strncmp(topic, "log.", 4)) {
                const char *cat = topic + 4;
                scopy(e.category, sizeof e.category, known_category(cat) ? cat : "system",
                      strlen(known_category(cat) ? cat : "system"));
                scopy(e.service, sizeof e.service, e.src, strlen(e.src));
                mcopy(e.level, sizeof e.level, m, "level", "info");
                if (logd_level_severity(e.level) < 0)
                        snprintf(e.level, sizeof e.level, "info");
                mcopy(e.user, sizeof e.user, m, "user", "");
                if (known_category(cat))
                        mcopy(msg, sizeof msg, m, "msg", "");
                else
                        describe(msg, sizeof msg, topic, m);
        } else {
                size_t i;
                for (i = 0; i < sizeof event_topics / sizeof *event_topics; i++)
                        if (!strncmp(topic, event_topics[i].prefix, strlen(event_topics[i].prefix)))
                                break;
                if (i == sizeof event_topics / sizeof *event_topics)
                        return;
                snprintf(e.category, sizeof e.category, "%s", event_topics[i].category);
                snprintf(e.level, sizeof e.level, "%s", event_topics[i].level);
                scopy(e.service, sizeof e.service, e.src, strlen(e.src));
                mcopy(e.user, sizeof e.user, m, "user", "");
                describe(msg, sizeof msg, topic, m);
                f = m; /* the whole event is the structured data */
        }
        e.msg = strdup(msg);
        if (f && f->type == MSGPACK_OBJECT_MAP) {
                struct mpw w;
                mpw_init(&w);
                mpw_obj(&w, f);
                if (mpw_len(&w) <= LOGD_FIELDS_MAX && (e.fields = malloc(mpw_len(&w)))) {
                        memcpy(e.fields, mpw_data(&w), mpw_len(&w));
                        e.fields_len = mpw_len(&w);
                }
                mpw_free(&w);
        }
        if (!e.msg) {
                x->dropped++;
                qent_free(&e);
                return;
        }
        /* the drain timer empties the queue; a burst beyond its bound is counted, never blocks */
        enqueue(x, &e);
}

/* ---- store maintenance ------------------------------------------------------------ */

static void publish_storage(struct logd_ctx *x)
{
        uint64_t quota = x->store->cfg.quota_bytes, used = x->store->total_bytes;
        int pct = quota ? (int)(used * 100 / quota) : 0;
        struct mpw w;

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

static uint64_t forwarded_to(const struct logd_ctx *x)
{
        return logd_remote_enabled(x->remote) ? logd_remote_acked(x->remote) : UINT64_MAX;
}

void logd_drain(struct logd_ctx *x)
{
        struct logd_rec *rec = x->rec;
        size_t n = 0;

        while (x->q_len) {
                struct qent *e = &x->q[x->q_head];
                rec->ts = e->ts;
                rec->pub_ts = e->pub_ts;
                rec->mono = e->mono;
                memcpy(rec->service, e->service, sizeof rec->service);
                memcpy(rec->category, e->category, sizeof rec->category);
                memcpy(rec->level, e->level, sizeof rec->level);
                memcpy(rec->user, e->user, sizeof rec->user);
                memcpy(rec->src, e->src, sizeof rec->src);
                snprintf(rec->msg, sizeof rec->msg, "%s", e->msg);
                rec->fields = e->fields;
                rec->fields_len = e->fields_len;
                if (logd_store_append(x->store, rec) < 0)
                        x->write_errors++;
                /* rotate on the record that fills a segment, not once per batch */
                if (logd_store_rotate_due(x->store, rec->ts) && logd_store_rotate(x->store) == 0)
                        logd_store_prune(x->store, rec->ts, forwarded_to(x));
                qent_free(e);
                x->q_head = (x->q_head + 1) % x->q_max;
                x->q_len--;
                n++;
        }
        if (!n)
                return;
        logd_store_flush(x->store);
        if (x->store->cfg.quota_bytes && x->store->total_bytes > x->store->cfg.quota_bytes)
                logd_store_prune(x->store, ds_now_real_ms(), forwarded_to(x));
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

        (void)loop;
        (void)timer_id;
        logd_drain(x);
        if (x->store->unsealed && ds_now_mono_ms() - x->store->last_seal_mono >= x->seal_interval_ms)
                logd_store_seal(x->store);
        /* forward security in quiet times too: the key moves on with the clock */
        logd_store_tick(x->store, now);
        if (logd_store_rotate_due(x->store, now))
                logd_store_rotate(x->store);
        logd_store_prune(x->store, now, forwarded_to(x));
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

/* ---- settings ----------------------------------------------------------------------- */

static const char *check_pin(const char *s, size_t n)
{
        if (n == 0)
                return NULL;
        if (n != 64)
                return "must be 64 hex digits (SHA-256 of the server certificate)";
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdefABCDEF", s[i]))
                        return "must be 64 hex digits (SHA-256 of the server certificate)";
        return NULL;
}

static const char *check_path_opt(const char *s, size_t n)
{
        return n ? ds_check_path(s, n) : NULL;
}

static const char *check_host_opt(const char *s, size_t n)
{
        return n ? ds_check_host(s, n) : NULL;
}

static const char *check_name_opt(const char *s, size_t n)
{
        return n ? ds_check_name(s, n) : NULL;
}

const struct ds_field logd_settings[] = {
        { "seal_every", DS_INT, 0, .min = 1, .max = 1000000, .def_int = 1000, .help = "records per seal" },
        { "seal_interval_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 10, .help = "seconds between seals" },
        { "segment_max_kb", DS_INT, 0, .min = 4, .max = 65536, .def_int = 1024, .help = "rotate at this size" },
        { "segment_max_age_s", DS_INT, 0, .min = 0, .max = 31 * 86400, .def_int = 86400, .help = "rotate at this age" },
        { "quota_mb", DS_INT, 0, .min = 1, .max = 1000000, .def_int = 64, .help = "store size limit" },
        { "retention_days", DS_INT, 0, .min = 0, .max = 3650, .def_int = 180, .help = "0: by quota only" },
        { "queue_max", DS_INT, 0, .min = 16, .max = 1000000, .def_int = 20000, .help = "ingest queue bound" },
        { "device_id", DS_STR, 0, .max_len = 63, .check = check_name_opt, .def_str = "",
          .help = "device id in the structured data (default: host name)" },
        { "remote_enabled", DS_BOOL, 0, .def_bool = false },
        { "remote_host", DS_STR, 0, .max_len = 253, .check = check_host_opt, .def_str = "" },
        { "remote_port", DS_INT, 0, .min = 1, .max = 65535, .def_int = 6514 },
        { "remote_ca", DS_STR, 0, .max_len = 4000, .check = check_path_opt, .def_str = "" },
        { "remote_name", DS_STR, 0, .max_len = 253, .check = check_host_opt, .def_str = "",
          .help = "name the server certificate must carry (default: host)" },
        { "remote_pin", DS_STR, 0, .max_len = 64, .check = check_pin, .def_str = "" },
        { "remote_client_cert", DS_STR, 0, .max_len = 4000, .check = check_path_opt, .def_str = "" },
        { "remote_client_key", DS_STR, 0, .max_len = 4000, .check = check_path_opt, .def_str = "" },
        { "remote_insecure", DS_BOOL, 0, .def_bool = false, .help = "plain TCP: flagged by audit.report" },
        { "remote_backoff_max_s", DS_INT, 0, .min = 1, .max = 3600, .def_int = 60 },
        { "remote_max_msg", DS_INT, 0, .min = 480, .max = 65536, .def_int = 2048,
          .help = "longest RFC 5424 message sent; a longer MSG is cut with a marker" },
        { NULL },
};

int logd_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct logd_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        struct logd_remote_cfg rc = { 0 };

        rc.enabled = ds_settings_bool(s, "remote_enabled");
        rc.insecure = ds_settings_bool(s, "remote_insecure");
        snprintf(rc.host, sizeof rc.host, "%s", ds_settings_str(s, "remote_host"));
        rc.port = (int)ds_settings_int(s, "remote_port");
        snprintf(rc.ca, sizeof rc.ca, "%s", ds_settings_str(s, "remote_ca"));
        snprintf(rc.name, sizeof rc.name, "%s", ds_settings_str(s, "remote_name"));
        snprintf(rc.pin, sizeof rc.pin, "%s", ds_settings_str(s, "remote_pin"));
        snprintf(rc.cert, sizeof rc.cert, "%s", ds_settings_str(s, "remote_client_cert"));
        snprintf(rc.key, sizeof rc.key, "%s", ds_settings_str(s, "remote_client_key"));
        rc.backoff_max_ms = (int)ds_settings_int(s, "remote_backoff_max_s") * 1000;
        rc.max_msg = (int)ds_settings_int(s, "remote_max_msg");
        if (rc.enabled && !rc.host[0])
                return ds_err_set(e, -EINVAL, "remote_host", "remote logging needs a host");
        if (rc.enabled && !rc.insecure && !rc.ca[0])
                return ds_err_set(e, -EINVAL, "remote_ca", "TLS needs a CA file (or insecure=true for plain TCP)");
        if (!rc.cert[0] != !rc.key[0])
                return ds_err_set(e, -EINVAL, rc.cert[0] ? "remote_client_key" : "remote_client_cert",
                                  "a client certificate needs its key and the other way round");
        if (ds_settings_str(s, "device_id")[0])
                snprintf(rc.device_id, sizeof rc.device_id, "%s", ds_settings_str(s, "device_id"));
        else if (gethostname(rc.device_id, sizeof rc.device_id - 1) < 0)
                snprintf(rc.device_id, sizeof rc.device_id, "device");
        if (gethostname(rc.hostname, sizeof rc.hostname - 1) < 0)
                snprintf(rc.hostname, sizeof rc.hostname, "-");

        x->cfg.seal_every = (uint32_t)ds_settings_int(s, "seal_every");
        x->cfg.epoch_ms = ds_settings_int(s, "seal_interval_s") * 1000;
        x->cfg.seg_max_bytes = (uint64_t)ds_settings_int(s, "segment_max_kb") * 1024;
        x->cfg.seg_max_age_s = ds_settings_int(s, "segment_max_age_s");
        x->cfg.quota_bytes = (uint64_t)ds_settings_int(s, "quota_mb") * 1024 * 1024;
        x->cfg.retention_s = ds_settings_int(s, "retention_days") * 86400;
        x->seal_interval_ms = ds_settings_int(s, "seal_interval_s") * 1000;
        x->queue_max = (size_t)ds_settings_int(s, "queue_max");
        if (x->store)
                x->store->cfg = x->cfg;
        x->remote_cfg = rc;
        if (x->remote && logd_remote_configure(x->remote, &rc) < 0)
                log_warn("remote logging configured but not usable: see log.status");
        return 0;
}

/* ---- handlers ----------------------------------------------------------------------- */

static const char *const cat_enum[] = { "system", "security", "operation", "event", NULL };
static const char *const lvl_enum[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };
static const char *const fmt_enum[] = { "records", "rfc5424", NULL };

static const struct ds_field query_args[] = {
        { "category", DS_STR, 0, .enums = cat_enum },
        { "level_min", DS_STR, 0, .enums = lvl_enum, .help = "this severity or worse" },
        { "since", DS_STR, 0, .max_len = 32, .help = "ISO 8601 UTC time or a duration back from now (1h, 7d)" },
        { "until", DS_STR, 0, .max_len = 32 },
        { "user", DS_STR, 0, .max_len = 32 },
        { "service", DS_STR, 0, .max_len = 32 },
        { "text", DS_STR, 0, .max_len = 128, .check = ds_check_printable },
        { "limit", DS_INT, 0, .min = 1, .max = 1000 },
        { "cursor", DS_INT, 0, .min = 0, .max = INT64_MAX },
        { "format", DS_STR, 0, .enums = fmt_enum },
        { NULL },
};

static int parse_when(struct ds_call *c, const char *key, int64_t *ret)
{
        char s[40];
        int64_t secs;

        *ret = 0;
        if (!ds_arg_has(c, key))
                return 0;
        ds_arg_str(c, key, s, sizeof s);
        if (ds_parse_time(s, ret) == 0)
                return 0;
        if (ds_parse_duration(s, &secs) == 0 && secs >= 0) {
                *ret = ds_now_real_ms() - secs * 1000;
                return 0;
        }
        return ds_call_fail(c, -EINVAL, key, "must be an ISO 8601 UTC time or a duration such as 90s, 15m, 1h, 7d");
}

struct qout {
        struct logd_ctx *x;
        struct mpw *w;
        bool rfc;
        char *line;
};

static void emit(void *ud, const struct logd_rec *rec)
{
        struct qout *o = ud;

        if (o->rfc) {
                if (logd_rfc5424(rec, o->x->remote_cfg.hostname, o->x->remote_cfg.device_id, o->line,
                                 LOGD_RFC5424_MAX) >= 0)
                        mpw_str(o->w, o->line);
        } else {
                logd_rec_write(o->w, rec);
        }
}

static int h_query(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char cat[16] = "", lvl[12] = "", user[33] = "", svc[33] = "", text[129] = "", fmt[16] = "";
        struct logd_query q = { .level_min = -1 };
        struct qout o = { .x = x, .w = c->r };
        uint64_t next = 0;
        int r;

        if ((r = parse_when(c, "since", &q.since_ms)) < 0 || (r = parse_when(c, "until", &q.until_ms)) < 0)
                return r;
        ds_arg_str(c, "category", cat, sizeof cat);
        ds_arg_str(c, "level_min", lvl, sizeof lvl);
        ds_arg_str(c, "user", user, sizeof user);
        ds_arg_str(c, "service", svc, sizeof svc);
        ds_arg_str(c, "text", text, sizeof text);
        ds_arg_str(c, "format", fmt, sizeof fmt);
        q.category = cat;
        q.user = user;
        q.service = svc;
        q.text = text;
        q.level_min = lvl[0] ? logd_level_severity(lvl) : -1;
        q.limit = (uint32_t)ds_arg_int(c, "limit", 50);
        q.cursor = (uint64_t)ds_arg_int(c, "cursor", 0);
        o.rfc = !strcmp(fmt, "rfc5424");
        if (o.rfc && !(o.line = malloc(LOGD_RFC5424_MAX)))
                return -ENOMEM;
        logd_drain(x);
        mpw_str(c->r, o.rfc ? "lines" : "records");
        mpw_arr_begin(c->r);
        r = logd_query_run(x->store, &q, emit, &o, &next);
        mpw_arr_end(c->r);
        free(o.line);
        if (r < 0)
                return r;
        mpw_kv_uint(c->r, "next_cursor", next);
        return 0;
}

/* log.verify checks what logd can check without the off-device key (structure,
 * chain, seal order, what it knows it wrote). It takes no key: the seals are
 * checked by the operator's devctl with the key, on segments read through
 * log.segments / log.read, so the key never reaches the device. */
static int h_verify(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        struct seal_result v;
        int64_t t0 = ds_now_mono_ms(), ms;
        int r;

        /* the unsealed tail is sealed first: an operator verifies what was written,
         * and a young store is not reported as one whose seal was removed */
        logd_drain(x);
        logd_store_seal(x->store);
        r = logd_store_verify(x->store, NULL, &v);
        if (r < 0)
                return r;
        ms = ds_now_mono_ms() - t0;
        mpw_kv_bool(c->r, "ok", v.kind == SEAL_V_OK);
        mpw_kv_str(c->r, "result", seal_vkind_name(v.kind));
        mpw_kv_uint(c->r, "first", v.first_seq);
        mpw_kv_uint(c->r, "verified_to", v.verified_to);
        mpw_kv_uint(c->r, "sealed_to", v.sealed_to);
        mpw_kv_uint(c->r, "records", v.records);
        mpw_kv_uint(c->r, "seals", v.seals);
        mpw_kv_uint(c->r, "unsealed", v.verified_to > v.sealed_to ? v.verified_to - v.sealed_to : 0);
        mpw_kv_bool(c->r, "seals_checked", false);
        mpw_kv_int(c->r, "elapsed_ms", ms);
        if (v.kind != SEAL_V_OK) {
                mpw_kv_uint(c->r, "at", v.at_seq);
                mpw_kv_str(c->r, "segment", v.segment);
                mpw_kv_str(c->r, "detail", v.detail);
                log_audit("security", LOG_LVL_ERR, ds_call_actor(c), "logd: store verification failed: %s", v.detail);
        }
        return 0;
}

/* The store as it is, for a verifier off the device: the segments (sealed up to
 * now), and what logd says it wrote, which a verifier may use to name a loss but
 * never to pass a store. */
static int h_segments(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        logd_store_t *s = x->store;

        logd_drain(x);
        logd_store_seal(s);
        mpw_str(c->r, "segments");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < s->n_segs; i++) {
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", s->segs[i].name);
                mpw_kv_uint(c->r, "first", s->segs[i].first);
                mpw_kv_uint(c->r, "size", s->segs[i].size);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_uint(c->r, "last_seq", s->next_seq - 1);
        mpw_kv_uint(c->r, "sealed_seq", s->sealed_seq);
        mpw_kv_uint(c->r, "seals_made", s->seal_n);
        mpw_kv_str(c->r, "device_id", x->remote_cfg.device_id);
        return 0;
}

static const char *check_seg_name(const char *s, size_t n)
{
        if (n < 9 || n > 47 || strncmp(s, "seg-", 4) || memcmp(s + n - 4, ".log", 4))
                return "must be a segment name (seg-N.log) from log.segments";
        for (size_t i = 4; i < n - 4; i++)
                if (s[i] < '0' || s[i] > '9')
                        return "must be a segment name (seg-N.log) from log.segments";
        return NULL;
}

static const struct ds_field read_args[] = {
        { "segment", DS_STR, DS_REQUIRED, .max_len = 47, .check = check_seg_name },
        { "offset", DS_INT, 0, .min = 0, .max = LOGD_SEG_LOAD_MAX },
        { "max", DS_INT, 0, .min = 1, .max = LOGD_READ_MAX, .help = "bytes per answer" },
        { NULL },
};

static int h_read(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        logd_store_t *s = x->store;
        char name[48], *p, *buf;
        uint64_t off = (uint64_t)ds_arg_int(c, "offset", 0), want = (uint64_t)ds_arg_int(c, "max", LOGD_READ_MAX);
        size_t i;
        ssize_t n;
        int fd;

        ds_arg_str(c, "segment", name, sizeof name);
        /* only a segment of the table, never a path the caller makes up */
        for (i = 0; i < s->n_segs && strcmp(s->segs[i].name, name); i++)
                ;
        if (i == s->n_segs)
                return ds_call_fail(c, -ENOENT, "segment", "no segment '%s' (pruned?)", name);
        logd_store_flush(s);
        if (off > s->segs[i].size)
                return ds_call_fail(c, -EINVAL, "offset", "past the end of '%s' (%llu bytes)", name,
                                    (unsigned long long)s->segs[i].size);
        if (want > s->segs[i].size - off)
                want = s->segs[i].size - off;
        p = path_join(s->dir, name);
        buf = malloc(want ? want : 1);
        fd = p ? open(p, O_RDONLY | O_CLOEXEC) : -1;
        free(p);
        if (fd < 0 || !buf) {
                int e = fd < 0 ? -errno : -ENOMEM;
                free(buf);
                if (fd >= 0)
                        close(fd);
                return ds_call_fail(c, e, "segment", "cannot read '%s': %s", name, strerror(-e));
        }
        n = want ? pread(fd, buf, want, (off_t)off) : 0;
        close(fd);
        if (n < 0) {
                int e = -errno;
                free(buf);
                return ds_call_fail(c, e, "segment", "cannot read '%s': %s", name, strerror(-e));
        }
        mpw_str(c->r, "data");
        mpw_bin(c->r, buf, (size_t)n);
        mpw_kv_uint(c->r, "offset", off);
        mpw_kv_bool(c->r, "eof", off + (uint64_t)n >= s->segs[i].size);
        free(buf);
        return 0;
}

static int h_seal_init(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char text[SEAL_KEY_TEXT_MAX];
        int r;

        r = logd_store_seal_init(x->store, text, sizeof text);
        if (r == -EEXIST)
                return ds_call_fail(c, -EEXIST, NULL, "the initial seal key was exported already");
        if (r < 0)
                return ds_call_fail(c, r, NULL, "cannot read the initial seal key: %s", strerror(-r));
        mpw_kv_str(c->r, "key", text);
        mpw_kv_int(c->r, "t0", x->store->key_t0);
        mpw_kv_int(c->r, "interval_ms", x->store->key_iv);
        explicit_bzero(text, sizeof text);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "logd: initial seal key exported by '%s'",
                  ds_call_actor(c));
        return 0;
}

static int h_status(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        logd_store_t *s = x->store;

        logd_drain(x);
        mpw_kv_uint(c->r, "records", s->next_seq - 1);
        mpw_kv_uint(c->r, "first", s->n_segs ? s->segs[0].first : 0);
        mpw_kv_uint(c->r, "segments", s->n_segs);
        mpw_kv_uint(c->r, "bytes", s->total_bytes);
        mpw_kv_uint(c->r, "quota_bytes", s->cfg.quota_bytes);
        mpw_kv_int(c->r, "quota_percent", s->cfg.quota_bytes ? (int64_t)(s->total_bytes * 100 / s->cfg.quota_bytes) : 0);
        mpw_kv_uint(c->r, "sealed_to", s->sealed_seq);
        mpw_kv_uint(c->r, "unsealed", s->unsealed);
        mpw_kv_uint(c->r, "seal_epoch", s->ks.epoch);
        mpw_kv_uint(c->r, "seals_made", s->seal_n);
        mpw_kv_bool(c->r, "seal_key_exported", !s->init_key_pending);
        mpw_kv_uint(c->r, "queue", x->q_len);
        mpw_kv_uint(c->r, "queue_max", x->q_max);
        mpw_kv_uint(c->r, "dropped", x->dropped);
        mpw_kv_uint(c->r, "write_errors", x->write_errors + s->write_errors);
        mpw_kv_uint(c->r, "torn_truncated_bytes", s->torn_truncated);
        mpw_str(c->r, "remote");
        mpw_map_begin(c->r);
        logd_remote_status(x->remote, c->r);
        mpw_map_end(c->r);
        return 0;
}

static int h_remote_show(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;

        logd_remote_status(x->remote, c->r);
        mpw_kv_str(c->r, "ca", x->remote_cfg.ca);
        mpw_kv_str(c->r, "pin", x->remote_cfg.pin);
        mpw_kv_str(c->r, "client_cert", x->remote_cfg.cert);
        mpw_kv_str(c->r, "device_id", x->remote_cfg.device_id);
        return 0;
}

static const struct ds_field remote_set_args[] = {
        { "target", DS_STR, DS_REQUIRED, .max_len = 260, .check = ds_check_hostport, .help = "HOST:PORT" },
        { "ca", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        { "name", DS_STR, 0, .max_len = 253, .check = ds_check_host },
        { "pin", DS_STR, 0, .max_len = 64, .check = check_pin },
        { "client_cert", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        { "client_key", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        { "insecure", DS_BOOL, 0 },
        { NULL },
};

static int split_target(struct ds_call *c, char *host, size_t hsize, int *port)
{
        char t[262], *colon, *h = t;
        long p = 6514;

        ds_arg_str(c, "target", t, sizeof t);
        colon = strrchr(t, ':');
        if (t[0] == '[') {
                char *rb = strchr(t, ']');
                if (!rb)
                        return ds_call_fail(c, -EINVAL, "target", "bad [IPv6]:PORT");
                *rb = '\0';
                h = t + 1;
                colon = rb[1] == ':' ? rb + 1 : NULL;
        } else if (colon && strchr(t, ':') != colon) {
                colon = NULL; /* bare IPv6 literal */
        }
        if (colon) {
                char *end;
                *colon = '\0';
                p = strtol(colon + 1, &end, 10);
                if (*end || p < 1 || p > 65535)
                        return ds_call_fail(c, -EINVAL, "target", "port must be 1-65535");
        }
        snprintf(host, hsize, "%s", h);
        *port = (int)p;
        return 0;
}

static int readable(struct ds_call *c, const char *field, const char *path)
{
        if (path[0] && access(path, R_OK) < 0)
                return ds_call_fail(c, -EINVAL, field, "'%s' is not readable by logd: %s", path, strerror(errno));
        return 0;
}

static int set_settings(struct logd_ctx *x, struct ds_call *c, struct mpw *w)
{
        msgpack_unpacked u;
        const char *why;
        int r;

        r = mp_decode(mpw_data(w), mpw_len(w), NULL, &u, &why);
        if (r < 0)
                return r;
        r = ds_daemon_set_settings(x->d, &u.data, ds_call_actor(c), &c->err);
        msgpack_unpacked_destroy(&u);
        return r;
}

static int h_remote_set(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char host[262], ca[4001] = "", name[254] = "", pin[65] = "", cert[4001] = "", key[4001] = "";
        bool insecure = ds_arg_bool(c, "insecure", false);
        struct mpw w;
        int port = 0, r;

        if ((r = split_target(c, host, sizeof host, &port)) < 0)
                return r;
        ds_arg_str(c, "ca", ca, sizeof ca);
        ds_arg_str(c, "name", name, sizeof name);
        ds_arg_str(c, "pin", pin, sizeof pin);
        ds_arg_str(c, "client_cert", cert, sizeof cert);
        ds_arg_str(c, "client_key", key, sizeof key);
        if (!insecure && !ca[0])
                return ds_call_fail(c, -EINVAL, "ca", "TLS needs the CA that signed the server's certificate");
        if (!cert[0] != !key[0])
                return ds_call_fail(c, -EINVAL, cert[0] ? "client_key" : "client_cert",
                                    "a client certificate needs its key and the other way round");
        if ((r = readable(c, "ca", ca)) < 0 || (r = readable(c, "client_cert", cert)) < 0 ||
            (r = readable(c, "client_key", key)) < 0)
                return r;
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "remote_enabled", true);
        mpw_kv_str(&w, "remote_host", host);
        mpw_kv_int(&w, "remote_port", port);
        mpw_kv_str(&w, "remote_ca", ca);
        mpw_kv_str(&w, "remote_name", name);
        mpw_kv_str(&w, "remote_pin", pin);
        mpw_kv_str(&w, "remote_client_cert", cert);
        mpw_kv_str(&w, "remote_client_key", key);
        mpw_kv_bool(&w, "remote_insecure", insecure);
        mpw_map_end(&w);
        r = set_settings(x, c, &w);
        mpw_free(&w);
        if (r < 0)
                return r;
        if (insecure)
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c),
                          "logd: remote logging to '%s:%d' in the clear (insecure) set by '%s'", host, port,
                          ds_call_actor(c));
        else
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c),
                          "logd: remote logging to '%s:%d' over TLS set by '%s'", host, port, ds_call_actor(c));
        logd_remote_status(x->remote, c->r);
        return 0;
}

static int h_remote_disable(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_bool(&w, "remote_enabled", false);
        mpw_map_end(&w);
        r = set_settings(x, c, &w);
        mpw_free(&w);
        if (r < 0)
                return r;
        log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "logd: remote logging disabled by '%s'",
                  ds_call_actor(c));
        mpw_kv_bool(c->r, "enabled", false);
        return 0;
}

const struct ds_method logd_methods[] = {
        DS_METHOD("log.query", query_args, h_query, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.verify", NULL, h_verify, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.segments", NULL, h_segments, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.read", read_args, h_read, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.seal.init", NULL, h_seal_init, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.status", NULL, h_status, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.remote.show", NULL, h_remote_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.remote.set", remote_set_args, h_remote_set, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.remote.disable", NULL, h_remote_disable, AUTH_NEEDS(SECURITY)),
        { NULL },
};

/* ---- audit ---------------------------------------------------------------------------- */

static enum ds_audit_result a_remote_on(void *ctx, char *detail, size_t size)
{
        struct logd_ctx *x = ctx;

        if (!x->remote_cfg.enabled) {
                snprintf(detail, size, "records stay on the device only");
                return DS_AUDIT_FAIL;
        }
        return DS_AUDIT_PASS;
}

static enum ds_audit_result a_remote_tls(void *ctx, char *detail, size_t size)
{
        struct logd_ctx *x = ctx;

        if (!x->remote_cfg.enabled)
                return DS_AUDIT_NA;
        if (x->remote_cfg.insecure) {
                snprintf(detail, size, "remote syslog to '%s' is sent in the clear (insecure=true)", x->remote_cfg.host);
                return DS_AUDIT_FAIL;
        }
        return DS_AUDIT_PASS;
}

static enum ds_audit_result a_key_exported(void *ctx, char *detail, size_t size)
{
        struct logd_ctx *x = ctx;

        if (x->store && x->store->init_key_pending) {
                snprintf(detail, size, "the initial seal key is still on the device");
                return DS_AUDIT_FAIL;
        }
        return DS_AUDIT_PASS;
}

static enum ds_audit_result a_pinned(void *ctx, char *detail, size_t size)
{
        struct logd_ctx *x = ctx;

        if (!x->remote_cfg.enabled || x->remote_cfg.insecure)
                return DS_AUDIT_NA;
        if (!x->remote_cfg.pin[0]) {
                snprintf(detail, size, "server certificate not pinned");
                return DS_AUDIT_FAIL;
        }
        return DS_AUDIT_PASS;
}

const struct ds_audit_item logd_audit[] = {
        { .id = "logd.remote.tls", .level = 1, .title = "remote syslog uses TLS",
          .remediation = "devctl log remote set HOST:PORT --ca FILE", .check = a_remote_tls },
        { .id = "logd.seal.exported", .level = 1, .title = "initial seal key exported and erased from the device",
          .remediation = "devctl log seal init > key (keep it off the device)", .check = a_key_exported },
        { .id = "logd.remote.enabled", .level = 2, .title = "security log forwarded to a remote syslog server",
          .remediation = "devctl log remote set HOST:PORT --ca FILE", .check = a_remote_on },
        { .id = "logd.remote.pinned", .level = 3, .title = "remote syslog server certificate pinned",
          .remediation = "devctl log remote set HOST:PORT --ca FILE --pin SHA256", .check = a_pinned },
        { NULL },
};

/* ---- lifecycle ------------------------------------------------------------------------ */

int logd_init(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;
        char *segdir = path_join(d->statedir, "store");
        int r;

        x->d = d;
        x->rec = malloc(sizeof *x->rec);
        if (!segdir || !x->rec) {
                free(segdir);
                return -ENOMEM;
        }
        /* settings are loaded: take the store's limits before opening it */
        x->cfg.seal_every = (uint32_t)ds_settings_int(&d->settings, "seal_every");
        x->cfg.epoch_ms = ds_settings_int(&d->settings, "seal_interval_s") * 1000;
        x->cfg.seg_max_bytes = (uint64_t)ds_settings_int(&d->settings, "segment_max_kb") * 1024;
        x->cfg.seg_max_age_s = ds_settings_int(&d->settings, "segment_max_age_s");
        x->cfg.quota_bytes = (uint64_t)ds_settings_int(&d->settings, "quota_mb") * 1024 * 1024;
        x->cfg.retention_s = ds_settings_int(&d->settings, "retention_days") * 86400;
        r = logd_store_open(segdir, d->statedir, &x->cfg, &x->store);
        free(segdir);
        if (r < 0)
                return r;
        r = logd_queue_init(x, (size_t)ds_settings_int(&d->settings, "queue_max"));
        if (r < 0)
                return r;
        /* what a crash left unsealed is sealed now, with the key of its epoch */
        return logd_store_seal(x->store);
}

int logd_start(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;
        struct ds_err e;

        x->d = d;
        x->remote = logd_remote_new(d->loop, x->store, d->statedir);
        if (!x->remote)
                return -ENOMEM;
        ds_err_clear(&e);
        if (logd_apply(d, x, &e) < 0)
                log_warn("remote logging settings refused: %s", e.msg);
        if (bus_subscribe(d->bus, "log.", on_event, x) < 0 || bus_subscribe(d->bus, "time.changed", on_event, x) < 0 ||
            bus_subscribe(d->bus, "auth.locked", on_event, x) < 0 || bus_subscribe(d->bus, "filter.", on_event, x) < 0)
                return -ENOMEM;
        zloop_timer(d->loop, 10, 0, on_drain, x);
        zloop_timer(d->loop, 1000, 0, on_tick, x);
        return 0;
}

void logd_stop(struct ds_daemon *d, void *ctx)
{
        struct logd_ctx *x = ctx;

        (void)d;
        logd_drain(x);
        logd_store_seal(x->store);
        if (x->remote)
                logd_remote_flush(x->remote);
        logd_remote_destroy(&x->remote);
        logd_queue_free(x);
        logd_store_close(&x->store);
        free(x->rec);
        x->rec = NULL;
}

void logd_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct logd_ctx *x = ctx;

        (void)d;
        mpw_kv_uint(w, "records", x->store ? x->store->next_seq - 1 : 0);
        mpw_kv_uint(w, "dropped", x->dropped);
}
