/* deliver.c - sending the queue over SMTP with libcurl's multi interface,
 * driven by the daemon's one zloop (curl_multi_socket_action): no thread, no
 * blocking call. TLS is always required (CURLUSESSL_ALL, or implicit TLS on
 * smtps://) and verified (CA + host name), so AUTH only ever runs inside it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_loop.h"
#include "log.h"
#include "smtp.h"
#include "util.h"

struct smtp_xfer {
        struct smtp_ctx *x;
        CURL *easy;
        struct curl_slist *rcpt;
        char *msg;
        size_t len, off;
        char id[DSQ_ID_LEN + 1];
        char dest[DSQ_DEST_MAX + 1];
        char errbuf[CURL_ERROR_SIZE];
};

bool smtp_configured(const struct smtp_ctx *x)
{
        return x->conf.host[0] && x->conf.from[0];
}

static void xfer_free(struct smtp_xfer *t)
{
        if (!t)
                return;
        if (t->easy) {
                curl_multi_remove_handle(t->x->curl.multi, t->easy);
                curl_easy_cleanup(t->easy);
        }
        curl_slist_free_all(t->rcpt);
        if (t->msg) {
                explicit_bzero(t->msg, t->len);
                free(t->msg);
        }
        free(t);
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
        struct smtp_xfer *t = ud;
        size_t n = size * nmemb, left = t->len - t->off;

        if (n > left)
                n = left;
        memcpy(buf, t->msg + t->off, n);
        t->off += n;
        return n;
}

/* ---- zloop <-> curl ---------------------------------------------------- */

static void check_done(struct smtp_ctx *x);

/* the curl loop's callback: curl made progress */
static void on_progress(void *ud)
{
        check_done(ud);
}

/* ---- transfers ---------------------------------------------------------- */

/* Refused for good: the server said the mailbox or the message is not
 * acceptable (55x). A TLS or login problem is the operator's to fix: those
 * keep retrying, with the error in `mail queue`. */
static bool permanent(CURLcode res, long code)
{
        if (res == CURLE_USE_SSL_FAILED || res == CURLE_LOGIN_DENIED || res == CURLE_PEER_FAILED_VERIFICATION)
                return false;
        return code >= 550 && code <= 554;
}

static void finish(struct smtp_ctx *x, struct smtp_xfer *t, CURLcode res)
{
        long code = 0;
        int64_t now = ds_now_real_ms();

        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
        if (res == CURLE_OK) {
                int r = dsq_done(x->q, t->id);
                if (r < 0)
                        log_warn("outbox: mail '%s' sent but not removed: %s", t->id, strerror(-r));
                x->sent++;
                x->last_sent_ms = now;
                log_info("mail '%s' to '%s' delivered", t->id, t->dest);
        } else {
                char why[DSQ_ERROR_MAX + 1];
                bool perm = permanent(res, code);
                char srv[32] = "";
                if (code)
                        snprintf(srv, sizeof srv, " (server %ld)", code);
                /* the server's last reply, short: it never holds the mail (the reset code) */
                if (snprintf(why, sizeof why, "%.60s%s%.110s%s", curl_easy_strerror(res), t->errbuf[0] ? ": " : "",
                             t->errbuf, srv) >= (int)sizeof why)
                        why[sizeof why - 1] = '\0'; /* cut: a short reason is all the queue keeps */
                x->failed_attempts++;
                x->fresh_next = true;
                snprintf(x->last_error, sizeof x->last_error, "%s", why);
                dsq_fail(x->q, t->id, why, perm, now);
                log_warn("mail '%s' to '%s' not delivered%s: %s", t->id, t->dest, perm ? " (given up)" : "", why);
        }
}

static void check_done(struct smtp_ctx *x)
{
        CURLMsg *m;
        int left;
        bool any = false;

        while ((m = curl_multi_info_read(x->curl.multi, &left))) {
                if (m->msg != CURLMSG_DONE)
                        continue;
                for (unsigned i = 0; i < x->n_xfer; i++) {
                        struct smtp_xfer *t = x->xfer[i];
                        if (t->easy != m->easy_handle)
                                continue;
                        finish(x, t, m->data.result);
                        xfer_free(t);
                        x->xfer[i] = x->xfer[--x->n_xfer];
                        any = true;
                        break;
                }
        }
        if (any)
                smtp_kick(x);
}

static int start(struct smtp_ctx *x, const struct dsq_item *it)
{
        struct smtp_xfer *t = calloc(1, sizeof *t);
        const struct smtp_conf *c = &x->conf;
        char *blob = NULL, url[400];
        size_t blen;
        int r;

        if (!t)
                return -ENOMEM;
        t->x = x;
        memcpy(t->id, it->id, sizeof t->id);
        memcpy(t->dest, it->dest, sizeof t->dest);
        if ((r = dsq_read(x->q, it->id, &blob, &blen)) < 0 ||
            (r = smtp_compose(blob, blen, c->from, it->id, it->created_ms, &t->msg, &t->len, &t->rcpt)) < 0) {
                if (blob)
                        explicit_bzero(blob, blen);
                free(blob);
                xfer_free(t);
                dsq_fail(x->q, it->id, r == -EBADMSG ? "unreadable item" : strerror(-r), true, ds_now_real_ms());
                return r;
        }
        explicit_bzero(blob, blen);
        free(blob);
        /* the URL's path is what curl says in EHLO: the device's name */
        snprintf(url, sizeof url, "%s://%s:%" PRId64 "/%s", c->implicit_tls ? "smtps" : "smtp", c->host, c->port,
                 x->ehlo);
        if (!(t->easy = curl_easy_init())) {
                xfer_free(t);
                dsq_fail(x->q, it->id, "out of memory", false, ds_now_real_ms());
                return -ENOMEM;
        }
        CURL *e = t->easy;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        if (c->ca_file[0])
                curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
        if (c->username[0]) {
                curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
                curl_easy_setopt(e, CURLOPT_PASSWORD, x->password ? x->password : "");
        }
        char from[260];
        snprintf(from, sizeof from, "<%s>", c->from);
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->rcpt);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, t);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->len);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
        curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)c->timeout_s * 2);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
        curl_easy_setopt(e, CURLOPT_PRIVATE, t);
        /* after a failure, never reuse a connection in an unknown state */
        if (x->fresh_next)
                curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        x->fresh_next = false;
        if (curl_multi_add_handle(x->curl.multi, e) != CURLM_OK) {
                xfer_free(t);
                dsq_fail(x->q, it->id, "out of memory", false, ds_now_real_ms());
                return -ENOMEM;
        }
        x->xfer[x->n_xfer++] = t;
        return 0;
}

void smtp_kick(struct smtp_ctx *x)
{
        struct dsq_item it;

        /* nothing before the loop exists (apply runs once before it) */
        if (!x->q || !smtp_configured(x) || !x->d || !x->d->loop || x->d->stopping)
                return;
        /* a mail that cannot start is failed inside start(): the loop ends */
        if (!x->curl.multi) { /* libcurl and its TLS only once there is mail to send */
                struct dsq_stats st;
                int r;

                dsq_get_stats(x->q, &st);
                if (!st.items)
                        return;
                if ((r = ds_curl_loop_open(&x->curl)) < 0) {
                        log_errno(r, "libcurl initialisation failed: mail stays in the outbox");
                        return;
                }
        }
        while (x->n_xfer < SMTP_XFER_MAX && dsq_next(x->q, ds_now_real_ms(), &it, NULL) == 0)
                start(x, &it);
}

int smtp_deliver_init(struct smtp_ctx *x)
{
        char h[64] = "";

        if (gethostname(h, sizeof h - 1) < 0 || ds_check_host(h, strlen(h)))
                snprintf(h, sizeof h, "localhost");
        snprintf(x->ehlo, sizeof x->ehlo, "%s", h);
        ds_curl_loop_prepare(&x->curl, &x->d->loop, on_progress, x);
        return 0;
}

void smtp_deliver_fini(struct smtp_ctx *x)
{
        /* in-flight items stay queued: sent again at the next start, with the
         * same Message-ID */
        for (unsigned i = 0; i < x->n_xfer; i++)
                xfer_free(x->xfer[i]);
        x->n_xfer = 0;
        ds_curl_loop_fini(&x->curl);
}
