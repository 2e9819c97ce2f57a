/* compose.c - the stored form of a mail and the RFC 5322 message built from
 * it at send time (pure: no I/O) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp.h"
#include "util.h"

int smtp_item_encode(struct mpw *w, const char *kind, const char *const *to, unsigned n_to, const char *subject,
                     const char *body)
{
        mpw_map_begin(w);
        mpw_kv_str(w, "kind", kind);
        mpw_str(w, "to");
        mpw_arr_begin(w);
        for (unsigned i = 0; i < n_to; i++)
                mpw_str(w, to[i]);
        mpw_arr_end(w);
        mpw_kv_str(w, "subject", subject);
        mpw_kv_str(w, "body", body);
        mpw_map_end(w);
        return mpw_finish(w);
}

void smtp_dest(const char *const *to, unsigned n_to, char *buf, size_t size)
{
        size_t o = 0;

        buf[0] = '\0';
        for (unsigned i = 0; i < n_to && o + 1 < size; i++) {
                int n = snprintf(buf + o, size - o, "%s%s", i ? "," : "", to[i]);
                if (n < 0 || (size_t)n >= size - o) {
                        buf[size - 1] = '\0';
                        break;
                }
                o += (size_t)n;
        }
}

struct sbuf {
        char *p;
        size_t len, cap;
        bool bad;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
        if (b->bad)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *np = realloc(b->p, cap);
                if (!np) {
                        b->bad = true;
                        return;
                }
                b->p = np;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* A header value: CR, LF and other control bytes become spaces, so nothing a
 * publisher put in an event can add a header. */
static void sb_hval(struct sbuf *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char c = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
                sb_add(b, &c, 1);
        }
}

/* Body: every line ends in CRLF; bare CR dropped. libcurl dot-stuffs. */
static void sb_body(struct sbuf *b, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\r')
                        continue;
                if (s[i] == '\n')
                        sb_add(b, "\r\n", 2);
                else
                        sb_add(b, &s[i], 1);
        }
        if (n == 0 || s[n - 1] != '\n')
                sb_add(b, "\r\n", 2);
}

static bool addr_ok(const char *s, size_t n)
{
        return n > 0 && n < 255 && !ds_check_email(s, n);
}

int smtp_compose(const char *blob, size_t len, const char *from, const char *id, int64_t created_ms,
                 char **ret_msg, size_t *ret_len, struct curl_slist **ret_rcpt)
{
        msgpack_unpacked u;
        const msgpack_object *to, *o;
        const char *subj, *body, *dom;
        size_t subj_n = 0, body_n = 0;
        struct sbuf b = { 0 };
        struct curl_slist *rcpt = NULL;
        char date[64], tmp[320];
        const char *why;
        struct tm tm;
        time_t t = (time_t)(created_ms / 1000);
        int r = -EBADMSG;

        if (mp_decode(blob, len, &mp_limits_default, &u, &why) < 0)
                return -EBADMSG;
        o = &u.data;
        to = mp_get(o, "to");
        subj = mp_get_strn(o, "subject", &subj_n);
        body = mp_get_strn(o, "body", &body_n);
        if (o->type != MSGPACK_OBJECT_MAP || !to || to->type != MSGPACK_OBJECT_ARRAY || !to->via.array.size ||
            !subj || !body)
                goto out;
        sb_str(&b, "From: ");
        sb_str(&b, from);
        sb_str(&b, "\r\nTo: ");
        for (uint32_t i = 0; i < to->via.array.size; i++) {
                const msgpack_object *a = &to->via.array.ptr[i];
                if (!mp_is_str(a) || !addr_ok(a->via.str.ptr, a->via.str.size))
                        goto out;
                snprintf(tmp, sizeof tmp, "<%.*s>", (int)a->via.str.size, a->via.str.ptr);
                struct curl_slist *n = curl_slist_append(rcpt, tmp);
                if (!n) {
                        r = -ENOMEM;
                        goto out;
                }
                rcpt = n;
                if (i)
                        sb_str(&b, ", ");
                sb_hval(&b, a->via.str.ptr, a->via.str.size);
        }
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
        dom = strchr(from, '@');
        sb_str(&b, "\r\nSubject: ");
        sb_hval(&b, subj, subj_n);
        sb_str(&b, "\r\nDate: ");
        sb_str(&b, date);
        /* derived from the queue id: a mail sent twice (crash after the 250,
         * before the queue forgot it) carries the same Message-ID */
        snprintf(tmp, sizeof tmp, "\r\nMessage-ID: <%s@%s>", id, dom ? dom + 1 : "devsec.invalid");
        sb_str(&b, tmp);
        sb_str(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n\r\n");
        sb_body(&b, body, body_n);
        if (b.bad) {
                r = -ENOMEM;
                goto out;
        }
        *ret_msg = b.p;
        *ret_len = b.len;
        *ret_rcpt = rcpt;
        b.p = NULL;
        rcpt = NULL;
        r = 0;
out:
        if (b.p) {
                explicit_bzero(b.p, b.cap);
                free(b.p);
        }
        curl_slist_free_all(rcpt);
        msgpack_unpacked_destroy(&u);
        return r;
}
