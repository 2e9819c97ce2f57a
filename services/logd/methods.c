/* methods.c - logd's settings, method table, handlers (h_<object>_<verb> after
 * their method) and audit items. The domain is in store.c, query.c, verify.c,
 * remote.c; the ingest path in ingest.c; the service and its hooks in main.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logd_svc.h"
#include "service.h"
#include "state.h"
#include "util.h"

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

void logd_settings_store(const struct ds_settings *s, struct logd_store_cfg *ret)
{
        ret->seal_every = (uint32_t)ds_settings_int(s, "seal_every");
        ret->epoch_ms = ds_settings_int(s, "seal_interval_s") * 1000;
        ret->seg_max_bytes = (uint64_t)ds_settings_int(s, "segment_max_kb") * 1024;
        ret->seg_max_age_s = ds_settings_int(s, "segment_max_age_s");
        ret->quota_bytes = (uint64_t)ds_settings_int(s, "quota_mb") * 1024 * 1024;
        ret->retention_s = ds_settings_int(s, "retention_days") * 86400;
}

/* Every refusal of logd_settings_apply, so check_settings (a two-phase
 * import's prepare) runs it alone. A CA or client key that cannot be loaded is
 * not refused: the forwarding is reported unusable (log.status). */
int logd_settings_check(const struct ds_settings *s, struct ds_err *e)
{
        bool enabled = ds_settings_bool(s, "remote_enabled");
        const char *cert = ds_settings_str(s, "remote_client_cert"), *key = ds_settings_str(s, "remote_client_key");

        if (enabled && !ds_settings_str(s, "remote_host")[0])
                return ds_err_set(e, -EINVAL, "remote_host", "remote logging needs a host");
        if (enabled && !ds_settings_bool(s, "remote_insecure") && !ds_settings_str(s, "remote_ca")[0])
                return ds_err_set(e, -EINVAL, "remote_ca", "TLS needs a CA file (or insecure=true for plain TCP)");
        if (!cert[0] != !key[0])
                return ds_err_set(e, -EINVAL, cert[0] ? "remote_client_key" : "remote_client_cert",
                                  "a client certificate needs its key and the other way round");
        return 0;
}

int logd_settings_apply(struct logd_ctx *x, const struct ds_settings *s, struct ds_err *e)
{
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
        int r;

        if ((r = logd_settings_check(s, e)) < 0)
                return r;
        if (ds_settings_str(s, "device_id")[0])
                snprintf(rc.device_id, sizeof rc.device_id, "%s", ds_settings_str(s, "device_id"));
        else if (gethostname(rc.device_id, sizeof rc.device_id - 1) < 0)
                snprintf(rc.device_id, sizeof rc.device_id, "device");
        if (gethostname(rc.hostname, sizeof rc.hostname - 1) < 0)
                snprintf(rc.hostname, sizeof rc.hostname, "-");

        logd_settings_store(s, &x->cfg);
        x->seal_interval_ms = ds_settings_int(s, "seal_interval_s") * 1000;
        x->queue_max = (size_t)ds_settings_int(s, "queue_max");
        if (x->store)
                logd_store_configure(x->store, &x->cfg);
        x->remote_cfg = rc;
        if (x->remote && logd_remote_configure(x->remote, &rc) < 0)
                log_warn("remote logging configured but not usable: see log.status");
        return 0;
}

/* ---- handlers ----------------------------------------------------------------------- */

static const char *const cat_enum[] = { "system", "security", "operation", "event", NULL };
static const char *const lvl_enum[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };
static const char *const fmt_enum[] = { "records", "rfc5424", NULL };

enum {
        QUERY_CATEGORY,
        QUERY_LEVEL_MIN,
        QUERY_SINCE,
        QUERY_UNTIL,
        QUERY_USER,
        QUERY_SERVICE,
        QUERY_TEXT,
        QUERY_LIMIT,
        QUERY_CURSOR,
        QUERY_FORMAT,
};
static const struct ds_field query_args[] = {
        [QUERY_CATEGORY] = { "category", DS_STR, 0, .enums = cat_enum },
        [QUERY_LEVEL_MIN] = { "level_min", DS_STR, 0, .enums = lvl_enum, .help = "this severity or worse" },
        [QUERY_SINCE] = { "since", DS_STR, 0, .max_len = 32, .help = "ISO 8601 UTC time or a duration back from now (1h, 7d)" },
        [QUERY_UNTIL] = { "until", DS_STR, 0, .max_len = 32 },
        [QUERY_USER] = { "user", DS_STR, 0, .max_len = 32 },
        [QUERY_SERVICE] = { "service", DS_STR, 0, .max_len = 32 },
        [QUERY_TEXT] = { "text", DS_STR, 0, .max_len = 128, .check = ds_check_printable },
        [QUERY_LIMIT] = { "limit", DS_INT, 0, .min = 1, .max = 1000 },
        [QUERY_CURSOR] = { "cursor", DS_INT, 0, .min = 0, .max = INT64_MAX },
        [QUERY_FORMAT] = { "format", DS_STR, 0, .enums = fmt_enum },
        { NULL },
};

/* i: the argument's index in the method's table, key its name */
static int parse_when(struct ds_call *c, unsigned i, const char *key, int64_t *ret)
{
        char s[40];
        int64_t secs;

        *ret = 0;
        if (!ds_tb_has(c, i))
                return 0;
        ds_tb_str(c, i, s, sizeof s);
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

static void emit(void *ud, const struct seal_rec *rec)
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

static int h_log_query(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char cat[16] = "", lvl[12] = "", user[33] = "", svc[33] = "", text[129] = "", fmt[16] = "";
        struct logd_query q = { .level_min = -1 };
        struct qout o = { .x = x, .w = c->r };
        uint64_t next = 0;
        int r;

        if ((r = parse_when(c, QUERY_SINCE, "since", &q.since_ms)) < 0 ||
            (r = parse_when(c, QUERY_UNTIL, "until", &q.until_ms)) < 0)
                return r;
        ds_tb_str(c, QUERY_CATEGORY, cat, sizeof cat);
        ds_tb_str(c, QUERY_LEVEL_MIN, lvl, sizeof lvl);
        ds_tb_str(c, QUERY_USER, user, sizeof user);
        ds_tb_str(c, QUERY_SERVICE, svc, sizeof svc);
        ds_tb_str(c, QUERY_TEXT, text, sizeof text);
        ds_tb_str(c, QUERY_FORMAT, fmt, sizeof fmt);
        q.category = cat;
        q.user = user;
        q.service = svc;
        q.text = text;
        q.level_min = lvl[0] ? logd_level_severity(lvl) : -1;
        q.limit = (uint32_t)ds_tb_int(c, QUERY_LIMIT, 50);
        q.cursor = (uint64_t)ds_tb_int(c, QUERY_CURSOR, 0);
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
static int h_log_verify(void *ctx, struct ds_call *c)
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
        mpw_kv_uint(c->r, "chains", v.chains);
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
static int h_log_segments(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        struct logd_store_info in;
        struct logd_seg g;

        logd_drain(x);
        logd_store_seal(x->store);
        logd_store_info(x->store, &in);
        mpw_str(c->r, "segments");
        mpw_arr_begin(c->r);
        for (size_t i = 0; logd_store_seg(x->store, i, &g) == 0; i++) {
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "name", g.name);
                mpw_kv_uint(c->r, "first", g.first);
                mpw_kv_uint(c->r, "size", g.size);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        mpw_kv_uint(c->r, "last_seq", in.last_seq);
        mpw_kv_uint(c->r, "sealed_seq", in.sealed_seq);
        mpw_kv_uint(c->r, "seals_made", in.seals_made);
        mpw_kv_str(c->r, "device_id", x->remote_cfg.device_id);
        mpw_kv_uint(c->r, "read_max", LOGD_READ_MAX);
        return 0;
}

enum { READ_SEGMENT, READ_OFFSET, READ_MAX };
static const struct ds_field read_args[] = {
        [READ_SEGMENT] = { "segment", DS_STR, DS_REQUIRED, .max_len = 47, .check = seal_seg_name_check },
        [READ_OFFSET] = { "offset", DS_INT, 0, .min = 0, .max = LOGD_SEG_LOAD_MAX },
        [READ_MAX] = { "max", DS_INT, 0, .min = 1, .max = LOGD_READ_MAX, .help = "bytes per answer" },
        { NULL },
};

static int h_log_read(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char name[SEAL_SEG_NAME_MAX];
        uint64_t off = (uint64_t)ds_tb_int(c, READ_OFFSET, 0), want = (uint64_t)ds_tb_int(c, READ_MAX, LOGD_READ_MAX);
        struct logd_seg g;
        ssize_t i;
        size_t n = 0;
        char *buf;
        int r;

        ds_tb_str(c, READ_SEGMENT, name, sizeof name);
        /* only a segment of the table, never a path the caller makes up */
        i = logd_store_find_name(x->store, name);
        if (i < 0 || logd_store_seg(x->store, (size_t)i, &g) < 0)
                return ds_call_fail(c, -ENOENT, "segment", "no segment '%s' (pruned?)", name);
        if (off > g.size)
                return ds_call_fail(c, -EINVAL, "offset", "past the end of '%s' (%llu bytes)", name,
                                    (unsigned long long)g.size);
        if (want > g.size - off)
                want = g.size - off;
        if (!(buf = malloc(want ? want : 1)))
                return -ENOMEM;
        r = logd_store_pread(x->store, (size_t)i, off, buf, (size_t)want, &n);
        if (r < 0) {
                free(buf);
                return ds_call_fail(c, r, "segment", "cannot read '%s': %s", name, strerror(-r));
        }
        mpw_str(c->r, "data");
        mpw_bin(c->r, buf, n);
        mpw_kv_uint(c->r, "offset", off);
        mpw_kv_bool(c->r, "eof", off + n >= g.size);
        free(buf);
        return 0;
}

static int h_log_seal_init(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        struct logd_store_info in;
        char text[SEAL_KEY_TEXT_MAX];
        int r;

        r = logd_store_seal_init(x->store, text, sizeof text);
        if (r == -EEXIST)
                return ds_call_fail(c, -EEXIST, NULL, "the initial seal key was exported already");
        if (r < 0)
                return ds_call_fail(c, r, NULL, "cannot read the initial seal key: %s", strerror(-r));
        logd_store_info(x->store, &in);
        mpw_kv_str(c->r, "key", text);
        mpw_kv_int(c->r, "t0", in.key_t0);
        mpw_kv_int(c->r, "interval_ms", in.key_iv);
        explicit_bzero(text, sizeof text);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "logd: initial seal key exported by '%s'",
                  ds_call_actor(c));
        return 0;
}

static int h_log_status(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        struct logd_store_info in;

        logd_drain(x);
        logd_store_info(x->store, &in);
        mpw_kv_uint(c->r, "records", in.last_seq);
        mpw_kv_uint(c->r, "first", in.first_seq);
        mpw_kv_uint(c->r, "segments", in.segments);
        mpw_kv_uint(c->r, "bytes", in.bytes);
        mpw_kv_uint(c->r, "quota_bytes", in.quota_bytes);
        mpw_kv_int(c->r, "quota_percent", in.quota_bytes ? (int64_t)(in.bytes * 100 / in.quota_bytes) : 0);
        mpw_kv_uint(c->r, "sealed_to", in.sealed_seq);
        mpw_kv_uint(c->r, "unsealed", in.unsealed);
        mpw_kv_uint(c->r, "seal_epoch", in.seal_epoch);
        mpw_kv_uint(c->r, "seals_made", in.seals_made);
        mpw_kv_bool(c->r, "seal_key_exported", in.key_exported);
        mpw_kv_uint(c->r, "queue", x->q_len);
        mpw_kv_uint(c->r, "queue_max", x->q_max);
        mpw_kv_uint(c->r, "dropped", x->dropped);
        mpw_kv_uint(c->r, "write_errors", x->write_errors + in.write_errors);
        mpw_kv_uint(c->r, "torn_truncated_bytes", in.torn_truncated);
        mpw_str(c->r, "remote");
        mpw_map_begin(c->r);
        logd_remote_status(x->remote, c->r);
        mpw_map_end(c->r);
        return 0;
}

static int h_log_remote_show(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;

        logd_remote_status(x->remote, c->r);
        mpw_kv_str(c->r, "ca", x->remote_cfg.ca);
        mpw_kv_str(c->r, "pin", x->remote_cfg.pin);
        mpw_kv_str(c->r, "client_cert", x->remote_cfg.cert);
        mpw_kv_str(c->r, "device_id", x->remote_cfg.device_id);
        return 0;
}

enum {
        REMOTE_SET_TARGET,
        REMOTE_SET_CA,
        REMOTE_SET_NAME,
        REMOTE_SET_PIN,
        REMOTE_SET_CLIENT_CERT,
        REMOTE_SET_CLIENT_KEY,
        REMOTE_SET_INSECURE,
};
static const struct ds_field remote_set_args[] = {
        [REMOTE_SET_TARGET] = { "target", DS_STR, DS_REQUIRED, .max_len = 260, .check = ds_check_hostport, .help = "HOST:PORT" },
        [REMOTE_SET_CA] = { "ca", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        [REMOTE_SET_NAME] = { "name", DS_STR, 0, .max_len = 253, .check = ds_check_host },
        [REMOTE_SET_PIN] = { "pin", DS_STR, 0, .max_len = 64, .check = check_pin },
        [REMOTE_SET_CLIENT_CERT] = { "client_cert", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        [REMOTE_SET_CLIENT_KEY] = { "client_key", DS_STR, 0, .max_len = 4000, .check = ds_check_path },
        [REMOTE_SET_INSECURE] = { "insecure", DS_BOOL, 0 },
        { NULL },
};

static int split_target(struct ds_call *c, char *host, size_t hsize, int *port)
{
        char t[262], *colon, *h = t;
        long p = 6514;

        ds_tb_str(c, REMOTE_SET_TARGET, t, sizeof t);
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
        return ds_daemon_set_settings_w(x->d, w, ds_call_actor(c), &c->err);
}

static int h_log_remote_set(void *ctx, struct ds_call *c)
{
        struct logd_ctx *x = ctx;
        char host[262], ca[4001] = "", name[254] = "", pin[65] = "", cert[4001] = "", key[4001] = "";
        bool insecure = ds_tb_bool(c, REMOTE_SET_INSECURE, false);
        struct mpw w;
        int port = 0, r;

        if ((r = split_target(c, host, sizeof host, &port)) < 0)
                return r;
        ds_tb_str(c, REMOTE_SET_CA, ca, sizeof ca);
        ds_tb_str(c, REMOTE_SET_NAME, name, sizeof name);
        ds_tb_str(c, REMOTE_SET_PIN, pin, sizeof pin);
        ds_tb_str(c, REMOTE_SET_CLIENT_CERT, cert, sizeof cert);
        ds_tb_str(c, REMOTE_SET_CLIENT_KEY, key, sizeof key);
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

static int h_log_remote_disable(void *ctx, struct ds_call *c)
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
        DS_METHOD("log.query", query_args, h_log_query, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.verify", NULL, h_log_verify, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.segments", NULL, h_log_segments, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.read", read_args, h_log_read, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.seal.init", NULL, h_log_seal_init, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.status", NULL, h_log_status, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.remote.show", NULL, h_log_remote_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("log.remote.set", remote_set_args, h_log_remote_set, AUTH_NEEDS(SECURITY)),
        DS_METHOD("log.remote.disable", NULL, h_log_remote_disable, AUTH_NEEDS(SECURITY)),
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

        struct logd_store_info in;

        if (x->store)
                logd_store_info(x->store, &in);
        if (x->store && !in.key_exported) {
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

/* The log can be checked: the store verifies (structure, chain, seals in
 * order), nothing failed to be written, and it holds records to read. */
static enum ds_audit_result a_store(void *ctx, char *detail, size_t size)
{
        struct logd_ctx *x = ctx;
        struct logd_store_info in;
        struct seal_result v = { .kind = SEAL_V_OK };
        int r;

        if (!x->store) {
                snprintf(detail, size, "the log store is not open");
                return DS_AUDIT_FAIL;
        }
        logd_drain(x);
        logd_store_seal(x->store);
        logd_store_info(x->store, &in);
        if ((r = logd_store_verify(x->store, NULL, &v)) < 0 || v.kind != SEAL_V_OK) {
                snprintf(detail, size, "the store does not verify: %s", r < 0 ? strerror(-r) : v.detail);
                return DS_AUDIT_FAIL;
        }
        if (in.write_errors) {
                snprintf(detail, size, "%" PRIu64 " record(s) could not be written", in.write_errors);
                return DS_AUDIT_FAIL;
        }
        if (!v.records) {
                snprintf(detail, size, "the store holds no records");
                return DS_AUDIT_FAIL;
        }
        snprintf(detail, size, "store verified: %" PRIu64 " record(s), %" PRIu64 " seal(s); devctl log query reads them",
                 v.records, v.seals);
        return DS_AUDIT_PASS;
}

const struct ds_audit_item logd_audit[] = {
        { .id = "logd.store", .level = 1, .title = "the log can be checked: the store verifies and holds readable records",
          .remediation = "devctl log verify; devctl log query --category security", .check = a_store },
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
