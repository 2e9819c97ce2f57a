/* query.c - filtered, paged reads of the store (newest first) and RFC 5424 rendering */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logd.h"
#include "util.h"

static const struct {
        const char *name;
        int sev;
} severities[] = {
        { "emerg", 0 }, { "alert", 1 }, { "crit", 2 },   { "err", 3 },   { "error", 3 },
        { "warning", 4 }, { "warn", 4 }, { "notice", 5 }, { "info", 6 }, { "debug", 7 },
};

int logd_level_severity(const char *level)
{
        /* every record asks: the usual spelling first, without case folding */
        for (size_t i = 0; i < sizeof severities / sizeof *severities; i++)
                if (!strcmp(level, severities[i].name))
                        return severities[i].sev;
        for (size_t i = 0; i < sizeof severities / sizeof *severities; i++)
                if (!strcasecmp(level, severities[i].name))
                        return severities[i].sev;
        return -1;
}

static const struct {
        const char *category;
        int facility;
} facilities[] = {
        { "security", 10 }, /* authpriv */
        { "system", 3 },    /* daemon */
        { "operation", 16 }, /* local0 */
        { "event", 17 },    /* local1 */
};

int logd_category_facility(const char *category)
{
        for (size_t i = 0; i < sizeof facilities / sizeof *facilities; i++)
                if (!strcmp(category, facilities[i].category))
                        return facilities[i].facility;
        return 3;
}

static bool match(const struct logd_query *q, const struct seal_rec *r)
{
        if (q->cursor && r->seq >= q->cursor)
                return false;
        if (q->category && *q->category && strcmp(q->category, r->category))
                return false;
        if (q->user && *q->user && strcmp(q->user, r->user))
                return false;
        if (q->service && *q->service && strcmp(q->service, r->service))
                return false;
        if (q->since_ms && r->ts < q->since_ms)
                return false;
        if (q->until_ms && r->ts > q->until_ms)
                return false;
        if (q->level_min >= 0) {
                int sev = logd_level_severity(r->level);
                if (sev < 0 || sev > q->level_min)
                        return false;
        }
        if (q->text && *q->text && !strcasestr(r->msg, q->text))
                return false;
        return true;
}

int logd_query_run(const logd_store_t *s, const struct logd_query *q, logd_query_fn fn, void *ud, uint64_t *ret_next)
{
        struct seal_rec *rec = malloc(sizeof *rec);
        size_t *offs = NULL, n_offs = 0, cap = 0, nsegs;
        struct logd_store_info in;
        logd_cursor_t *c = NULL;
        uint32_t emitted = 0;
        uint64_t last = 0;
        int r = 0;

        *ret_next = 0;
        if (!rec || logd_cursor_new(s, &c) < 0) {
                free(rec);
                return -ENOMEM;
        }
        logd_store_info(s, &in);
        nsegs = in.segments;
        /* newest first: per segment, the offsets of the matches, then back through them */
        for (size_t i = nsegs; i-- > 0 && emitted < q->limit;) {
                struct logd_seg g;
                struct seal_frame f;
                size_t off;

                if (logd_store_seg(s, i, &g) < 0 || g.last < g.first || (q->cursor && g.first >= q->cursor))
                        continue;
                if (q->since_ms && g.ts_last && g.ts_last < q->since_ms)
                        break;
                if (q->until_ms && g.ts_first > q->until_ms)
                        continue;
                if (logd_cursor_seek_segment(c, i) < 0)
                        continue;
                n_offs = 0;
                for (off = logd_cursor_tell(c); logd_cursor_next(c, &f) > 0; off = logd_cursor_tell(c)) {
                        if (f.type != SEAL_FRAME_RECORD || seal_rec_decode(f.payload, f.len, rec) < 0 || !match(q, rec))
                                continue;
                        if (n_offs == cap) {
                                size_t *no = realloc(offs, (cap = cap ? cap * 2 : 256) * sizeof *no);
                                if (!no) {
                                        r = -ENOMEM;
                                        goto out;
                                }
                                offs = no;
                        }
                        offs[n_offs++] = off;
                }
                while (n_offs-- > 0 && emitted < q->limit) {
                        if (logd_cursor_seek_offset(c, offs[n_offs]) < 0 || logd_cursor_next(c, &f) <= 0 ||
                            seal_rec_decode(f.payload, f.len, rec) < 0)
                                continue;
                        fn(ud, rec);
                        emitted++;
                        last = rec->seq;
                }
        }
        if (emitted == q->limit && last > in.first_seq)
                *ret_next = last;
out:
        logd_cursor_destroy(&c);
        free(offs);
        free(rec);
        return r;
}

/* SD-PARAM value escaping (RFC 5424 6.3.3): '"', '\' and ']' */
static size_t sd_escape(char *out, size_t size, const char *in)
{
        size_t o = 0;

        for (; *in && o + 2 < size; in++) {
                if (*in == '"' || *in == '\\' || *in == ']')
                        out[o++] = '\\';
                out[o++] = *in;
        }
        out[o] = '\0';
        return o;
}

static const char *nil(const char *s)
{
        return s && *s ? s : "-";
}

/* The length of a UTF-8 prefix of s that is at most n bytes and does not end
 * inside a character. */
static size_t utf8_cut(const char *s, size_t n)
{
        size_t k = n;

        /* step back over continuation bytes to the lead byte of the character at n */
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
                k--;
        return k;
}

int logd_rfc5424_fit(const struct seal_rec *rec, const char *hostname, const char *device_id, size_t max, char *buf,
                     size_t size, bool *ret_truncated)
{
        char ts[40], user[80], src[140], dev[140], app[49];
        int sev = logd_level_severity(rec->level), n;
        size_t k = 0, hdr, mlen = strlen(rec->msg), mk = sizeof LOGD_TRUNC_MARK - 1;
        bool cut = false;

        if (!max || max >= size)
                max = size - 1;
        ds_format_time(rec->ts, ts, sizeof ts);
        sd_escape(user, sizeof user, rec->user);
        sd_escape(src, sizeof src, rec->src);
        sd_escape(dev, sizeof dev, device_id);
        /* APP-NAME: printable US-ASCII without spaces, at most 48 */
        for (const char *p = rec->service; *p && k < sizeof app - 1; p++)
                app[k++] = *p > 32 && *p < 127 ? *p : '_';
        app[k] = '\0';
        n = snprintf(buf, size, "<%d>1 %s %s %s - %s [devsec@32473 seq=\"%llu\" dev=\"%s\" user=\"%s\" src=\"%s\"] ",
                     logd_category_facility(rec->category) * 8 + (sev < 0 ? 6 : sev), ts, nil(hostname), nil(app),
                     nil(rec->category), (unsigned long long)rec->seq, dev, user, src);
        if (n < 0 || (size_t)n >= size)
                return -E2BIG;
        hdr = (size_t)n;
        if (hdr + mlen > max) {
                /* the MSG is cut at a character boundary and says so; the header never is */
                if (hdr + mk > max)
                        return -E2BIG;
                mlen = utf8_cut(rec->msg, max - hdr - mk);
                cut = true;
        }
        memcpy(buf + hdr, rec->msg, mlen);
        if (cut)
                memcpy(buf + hdr + mlen, LOGD_TRUNC_MARK, mk);
        n = (int)(hdr + mlen + (cut ? mk : 0));
        buf[n] = '\0';
        if (ret_truncated)
                *ret_truncated = cut;
        return n;
}

int logd_rfc5424(const struct seal_rec *rec, const char *hostname, const char *device_id, char *buf, size_t size)
{
        return logd_rfc5424_fit(rec, hostname, device_id, 0, buf, size, NULL);
}

void logd_rec_write(struct mpw *w, const struct seal_rec *rec)
{
        char ts[40];

        ds_format_time(rec->ts, ts, sizeof ts);
        mpw_map_begin(w);
        mpw_kv_uint(w, "seq", rec->seq);
        mpw_kv_str(w, "time", ts);
        mpw_kv_int(w, "ts", rec->ts);
        mpw_kv_int(w, "mono", rec->mono);
        if (rec->pub_ts) {
                ds_format_time(rec->pub_ts, ts, sizeof ts);
                mpw_kv_int(w, "pub_ts", rec->pub_ts);
                mpw_kv_str(w, "pub_time", ts);
        }
        mpw_kv_str(w, "category", rec->category);
        mpw_kv_str(w, "level", rec->level);
        mpw_kv_str(w, "service", rec->service);
        mpw_kv_str(w, "user", rec->user);
        mpw_kv_str(w, "src", rec->src);
        mpw_kv_str(w, "msg", rec->msg);
        if (rec->fields && rec->fields_len) {
                mpw_str(w, "fields");
                mpw_raw(w, rec->fields, rec->fields_len);
        }
        mpw_map_end(w);
}
