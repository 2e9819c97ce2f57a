/* xfer.c - the remote side with libcurl's multi interface in the daemon's
 * zloop, one operation at a time: the host-key probe (trust), the exclusive
 * directory check (list, marker), and per item: list (sizes of its temp and
 * final names), upload appending from the remote temp size and rename to a
 * final name that must not exist, list again (final size check).
 *
 * SFTP: the host key pinned by SHA-256 (CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256),
 * public-key authentication with the device key, a password only when one is
 * configured. FTPES: TLS required (CURLUSESSL_ALL) and verified. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curl_loop.h"
#include "log.h"
#include "sftp.h"
#include "util.h"

bool stor_configured(const struct stor_ctx *x)
{
        return x->conf.configured;
}

/* ---- zloop <-> curl (as smtp-notifier) ------------------------------- */

static void check_done(struct stor_ctx *x);

/* the curl loop's callback: curl made progress */
static void on_progress(void *ud)
{
        check_done(ud);
}

/* ---- one operation ---------------------------------------------------- */

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
        struct stor_ctx *x = ud;
        size_t n = size * nmemb;
        char *nb;

        if (x->buf_len + n > STOR_LIST_MAX)
                return 0; /* aborts: a listing this large is not ours */
        if (!(nb = realloc(x->buf, x->buf_len + n + 1)))
                return 0;
        x->buf = nb;
        memcpy(x->buf + x->buf_len, p, n);
        x->buf_len += n;
        x->buf[x->buf_len] = 0;
        return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
        struct stor_ctx *x = ud;
        size_t n = size * nmemb;

        if (x->up_mem) {
                size_t left = x->up_mem_len - x->up_mem_off;
                if (n > left)
                        n = left;
                memcpy(p, x->up_mem + x->up_mem_off, n);
                x->up_mem_off += n;
                return n;
        }
        ssize_t r = read(x->up_fd, p, n);
        if (r < 0)
                return CURL_READFUNC_ABORT;
        if (x->md_inline && r > 0) {
                if (EVP_DigestUpdate(x->md, p, (size_t)r) == 1)
                        x->md_done += (uint64_t)r;
                else
                        x->md_inline = false;
        }
        return (size_t)r;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
        struct stor_ctx *x = ud;

        if (x->up_mem || origin != SEEK_SET)
                return CURL_SEEKFUNC_CANTSEEK;
        if ((uint64_t)off != x->md_done)
                x->md_inline = false; /* rewound: the sum is read again afterwards */
        return lseek(x->up_fd, (off_t)off, SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static int on_hostkey(void *ud, int keytype, const char *key, size_t len)
{
        struct stor_ctx *x = ud;

        (void)keytype;
        if (stor_fingerprint(key, len, x->offered, sizeof x->offered) < 0)
                x->offered[0] = 0;
        /* the probe only learns the key: this connection goes no further */
        return CURLKHMATCH_MISMATCH;
}

static void op_clear(struct stor_ctx *x)
{
        stor_ssh_cancel(x);
        if (x->easy) {
                curl_multi_remove_handle(x->curl.multi, x->easy);
                curl_easy_cleanup(x->easy);
                x->easy = NULL;
        }
        free(x->buf);
        x->buf = NULL;
        x->buf_len = 0;
        x->up_mem = NULL;
        if (x->up_fd >= 0)
                close(x->up_fd);
        x->up_fd = -1;
        curl_slist_free_all(x->quote);
        curl_slist_free_all(x->postquote);
        x->quote = x->postquote = NULL;
        x->errbuf[0] = 0;
        x->phase = PH_IDLE;
}

/* path "" = the directory (a listing) */
static CURL *op_new(struct stor_ctx *x, enum stor_phase ph, const char *path)
{
        const struct stor_conf *c = &x->conf;
        char url[1600];
        CURL *e;

        snprintf(url, sizeof url, "%s://%s:%ld%s/%s", c->url.proto == STOR_SFTP ? "sftp" : "ftp", c->url.host,
                 c->url.port, c->url.dir, path);
        if (!(e = curl_easy_init()))
                return NULL;
        x->easy = e;
        x->phase = ph;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->url.proto == STOR_SFTP ? "sftp" : "ftp");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
        /* a large upload takes long: abort only when it stalls */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout_s);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
        if (x->password && x->password[0])
                curl_easy_setopt(e, CURLOPT_PASSWORD, x->password);
        if (c->url.proto == STOR_SFTP) {
                long auth = CURLSSH_AUTH_PUBLICKEY;
                if (x->password && x->password[0])
                        auth |= CURLSSH_AUTH_PASSWORD;
                curl_easy_setopt(e, CURLOPT_SSH_AUTH_TYPES, auth);
                curl_easy_setopt(e, CURLOPT_SSH_PRIVATE_KEYFILE, x->key_path);
                curl_easy_setopt(e, CURLOPT_SSH_PUBLIC_KEYFILE, x->pub_path);
                if (ph == PH_PROBE) {
                        curl_easy_setopt(e, CURLOPT_SSH_HOSTKEYFUNCTION, on_hostkey);
                        curl_easy_setopt(e, CURLOPT_SSH_HOSTKEYDATA, x);
                } else {
                        curl_easy_setopt(e, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, x->pin);
                }
        } else {
                curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
                curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
                curl_easy_setopt(e, CURLOPT_FTP_SSL_CCC, (long)CURLFTPSSL_CCC_NONE);
                if (c->ca_file[0])
                        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
                /* the marker and the temporary names are dot files, which an
                 * FTP server's plain LIST hides (vsftpd, proftpd) */
                if (!path[0])
                        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "LIST -a");
        }
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        return e;
}

static int op_go(struct stor_ctx *x)
{
        if (curl_multi_add_handle(x->curl.multi, x->easy) != CURLM_OK) {
                op_clear(x);
                return -ENOMEM;
        }
        return 0;
}

static void finish_call(struct ds_call **c, int code, const char *field, const char *fmt, const char *arg)
{
        if (!*c)
                return;
        if (code < 0)
                ds_call_fail(*c, code, field, fmt, arg);
        ds_call_finish(c, code);
}

/* ---- the exclusive directory ------------------------------------------ */

struct scan {
        bool marker;
        unsigned foreign;
        char first[64];
        const char *final, *tmp, *sum;
        int64_t final_size, tmp_size, sum_size;
};

static void scan_one(void *ud, const char *name, uint64_t size, bool dir)
{
        struct scan *s = ud;

        (void)dir;
        if (!strcmp(name, STOR_MARKER))
                s->marker = true;
        else if (s->final && !strcmp(name, s->final))
                s->final_size = (int64_t)size;
        else if (s->tmp && !strcmp(name, s->tmp))
                s->tmp_size = (int64_t)size;
        else if (s->sum && !strcmp(name, s->sum))
                s->sum_size = (int64_t)size;
        else if (!s->foreign++)
                snprintf(s->first, sizeof s->first, "%s", name);
}

static void dir_refuse(struct stor_ctx *x, const char *why)
{
        x->dir_ok = false;
        x->dir_next_ms = ds_now_mono_ms() + 30000;
        snprintf(x->dir_error, sizeof x->dir_error, "%s", why);
        snprintf(x->last_error, sizeof x->last_error, "%s", why);
        log_audit("security", LOG_LVL_WARNING, "sftp-storage", "remote directory '%s' on '%s' refused: %s",
                  x->conf.url.dir, x->conf.url.host, why);
        finish_call(&x->test_call, -EBUSY, "url", "%s", why);
        x->want_test = false; /* answered by this check */
        x->adopt = false;
}

static void dir_accept(struct stor_ctx *x, const char *how)
{
        x->want_test = false; /* answered by this check */
        x->dir_ok = true;
        x->dir_error[0] = 0;
        log_notice("remote directory '%s' on '%s' is ours (%s)", x->conf.url.dir, x->conf.url.host, how);
        if (x->test_call) {
                mpw_kv_str(x->test_call->r, "directory", x->conf.url.dir);
                mpw_kv_str(x->test_call->r, "exclusive", how);
                mpw_kv_str(x->test_call->r, "host_key", x->pin);
                ds_call_finish(&x->test_call, 0);
        }
        x->adopt = false;
}

static int start_put_marker(struct stor_ctx *x)
{
        static char text[256];
        int n = stor_marker_text(x->conf.device_id, text, sizeof text);

        if (n < 0 || !op_new(x, PH_PREP_PUT, STOR_MARKER))
                return -ENOMEM;
        x->up_mem = text;
        x->up_mem_len = (size_t)n;
        x->up_mem_off = 0;
        curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
        return op_go(x);
}

static void prep_listed(struct stor_ctx *x)
{
        struct scan s = { 0 };
        char why[512];

        stor_list_parse(x->buf ? x->buf : "", x->buf_len, scan_one, &s);
        op_clear(x);
        if (s.marker) {
                if (op_new(x, PH_PREP_GET, STOR_MARKER))
                        op_go(x);
                return;
        }
        if (s.foreign && !x->adopt) {
                snprintf(why, sizeof why,
                         "the directory holds %u file(s) of someone else (e.g. '%.40s') and no marker: give "
                         "sftp-storage a directory of its own, or adopt it (devctl storage test --adopt)",
                         s.foreign, s.first);
                dir_refuse(x, why);
                return;
        }
        if (start_put_marker(x) < 0)
                dir_refuse(x, "out of memory");
}

static void prep_marker(struct stor_ctx *x)
{
        char dev[128], why[256];
        int r = stor_marker_device(x->buf ? x->buf : "", x->buf_len, dev, sizeof dev);

        op_clear(x);
        if (r == 0 && !strcmp(dev, x->conf.device_id)) {
                dir_accept(x, "marker of this device");
                return;
        }
        if (!x->adopt) {
                snprintf(why, sizeof why,
                         "the directory belongs to another device ('%.60s' in its marker): refused (devctl "
                         "storage test --adopt to take it over)",
                         r == 0 ? dev : "unreadable");
                dir_refuse(x, why);
                return;
        }
        log_audit("security", LOG_LVL_NOTICE, "sftp-storage", "remote directory '%s' adopted from '%s'",
                  x->conf.url.dir, r == 0 ? dev : "unreadable marker");
        if (start_put_marker(x) < 0)
                dir_refuse(x, "out of memory");
}

/* ---- items ------------------------------------------------------------ */

static void sum_reset(struct stor_ctx *x)
{
        if (x->hash_timer >= 0)
                zloop_timer_end(x->d->loop, x->hash_timer);
        x->hash_timer = -1;
        if (x->hash_fd >= 0)
                close(x->hash_fd);
        x->hash_fd = -1;
        x->md_inline = false;
        x->md_done = 0;
        if (x->phase == PH_UP_HASH)
                x->phase = PH_IDLE;
}

static void item_fail(struct stor_ctx *x, const char *why, bool permanent)
{
        sum_reset(x);
        x->failed_attempts++;
        snprintf(x->last_error, sizeof x->last_error, "%s", why);
        dsq_fail(x->q, x->id, why, permanent, ds_now_real_ms());
        log_warn("upload of '%s' (%s) failed%s: %s", x->name, x->id, permanent ? " (given up)" : "", why);
        x->id[0] = 0;
}

static void item_done(struct stor_ctx *x, bool dup)
{
        int r;

        sum_reset(x);
        r = dsq_done(x->q, x->id);

        if (r < 0)
                log_warn("queue: '%s' uploaded but not removed: %s", x->id, strerror(-r));
        stor_spool_done(x, x->name);
        x->uploaded++;
        x->uploaded_bytes += x->size;
        x->last_upload_ms = ds_now_real_ms();
        if (dup)
                x->duplicates++;
        log_info("'%s' uploaded as '%s/%s' (%" PRIu64 " bytes%s)", x->name, x->conf.url.dir, x->final, x->size,
                 dup ? ", already there from before a restart" : "");
        x->id[0] = 0;
}

static int start_item(struct stor_ctx *x, const struct dsq_item *it)
{
        char *blob = NULL, *path;
        size_t len;
        struct stat st;

        memcpy(x->id, it->id, sizeof x->id);
        if (dsq_read(x->q, it->id, &blob, &len) < 0 || len == 0 || len > STOR_NAME_MAX || !stor_name_ok(blob)) {
                free(blob);
                snprintf(x->name, sizeof x->name, "?");
                item_fail(x, "unreadable item", true);
                return -EBADMSG;
        }
        snprintf(x->name, sizeof x->name, "%s", blob);
        free(blob);
        if (!(path = stor_held_path(x, x->name)) || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
                free(path);
                item_fail(x, "the spooled file is gone", true);
                return -ENOENT;
        }
        free(path);
        x->size = (uint64_t)st.st_size;
        stor_final_name(x->id, x->name, x->final, sizeof x->final);
        stor_tmp_name(x->final, x->tmp, sizeof x->tmp);
        snprintf(x->sum_final, sizeof x->sum_final, "%s.sha256", x->final);
        stor_tmp_name(x->sum_final, x->sum_tmp, sizeof x->sum_tmp);
        x->dup = false;
        sum_reset(x);
        if (!op_new(x, PH_UP_LIST, ""))
                return -ENOMEM;
        return op_go(x);
}

/* The sidecar: "HEX  NAME\n" as sha256sum writes it, uploaded to a temp
 * name and renamed, after the file's own final size check. */
static void sum_put(struct stor_ctx *x)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdl = 0;
        char hex[2 * 32 + 1], cmd[2600];

        if (EVP_DigestFinal_ex(x->md, md, &mdl) != 1 || mdl != 32) {
                item_fail(x, "SHA-256 of the file failed", false);
                return;
        }
        ds_hex(md, mdl, hex);
        snprintf(x->sum, sizeof x->sum, "%s  %s\n", hex, x->final);
        sum_reset(x);
        if (!op_new(x, PH_UP_SUM, x->sum_tmp)) {
                item_fail(x, "out of memory", false);
                return;
        }
        x->up_mem = x->sum;
        x->up_mem_len = strlen(x->sum);
        x->up_mem_off = 0;
        if (x->conf.url.proto == STOR_SFTP) {
                snprintf(cmd, sizeof cmd, "rename %s/%s %s/%s", x->conf.url.dir, x->sum_tmp, x->conf.url.dir,
                         x->sum_final);
                x->postquote = curl_slist_append(NULL, cmd);
        } else {
                snprintf(cmd, sizeof cmd, "RNFR %s/%s", x->conf.url.dir, x->sum_tmp);
                x->postquote = curl_slist_append(NULL, cmd);
                snprintf(cmd, sizeof cmd, "RNTO %s/%s", x->conf.url.dir, x->sum_final);
                x->postquote = curl_slist_append(x->postquote, cmd);
        }
        curl_easy_setopt(x->easy, CURLOPT_POSTQUOTE, x->postquote);
        curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->up_mem_len);
        if (op_go(x) < 0)
                item_fail(x, "out of memory", false);
}

/* a slice of the held file per turn of the loop: the loop keeps answering */
static int on_hash_tick(zloop_t *loop, int timer_id, void *ud)
{
        struct stor_ctx *x = ud;
        char buf[64 * 1024];
        ssize_t n = 0;

        (void)loop;
        (void)timer_id;
        for (int i = 0; i < 64; i++) {
                n = read(x->hash_fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                if (EVP_DigestUpdate(x->md, buf, (size_t)n) != 1) {
                        n = -1;
                        break;
                }
                x->md_done += (uint64_t)n;
        }
        if (n < 0) {
                item_fail(x, "the spooled file cannot be read for its SHA-256", false);
                stor_kick(x);
        } else if (n == 0) {
                if (x->md_done != x->size) {
                        item_fail(x, "the spooled file changed size while its SHA-256 was computed", true);
                        stor_kick(x);
                } else {
                        sum_put(x);
                }
        }
        return 0;
}

static void hash_start(struct stor_ctx *x)
{
        char *path = stor_held_path(x, x->name);

        sum_reset(x);
        x->hash_fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        free(path);
        if (x->hash_fd < 0 || EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1 ||
            (x->hash_timer = zloop_timer(x->d->loop, 1, 0, on_hash_tick, x)) < 0) {
                item_fail(x, "the spooled file cannot be read for its SHA-256", false);
                return;
        }
        x->phase = PH_UP_HASH;
}

static void up_listed(struct stor_ctx *x)
{
        struct scan s = { .final = x->final, .tmp = x->tmp, .sum = x->sum_final, .final_size = -1, .tmp_size = -1,
                          .sum_size = -1 };
        char *path, cmd[2600], why[512];

        stor_list_parse(x->buf ? x->buf : "", x->buf_len, scan_one, &s);
        op_clear(x);
        if (!s.marker) {
                dir_refuse(x, "the marker has gone from the remote directory: checking it again");
                item_fail(x, "the remote directory is no longer marked as ours", false);
                return;
        }
        if (s.final_size >= 0) {
                /* the name comes from the item id: this is our upload that
                 * finished just before a restart */
                if ((uint64_t)s.final_size == x->size) {
                        x->dup = true;
                        if (s.sum_size > 0)
                                item_done(x, true);
                        else
                                hash_start(x); /* the sidecar did not make it */
                        return;
                }
                snprintf(why, sizeof why, "the final name '%s' exists with %" PRId64 " bytes, not %" PRIu64, x->final,
                         s.final_size, x->size);
                item_fail(x, why, true);
                return;
        }
        x->offset = s.tmp_size > 0 ? (uint64_t)s.tmp_size : 0;
        if (!(path = stor_held_path(x, x->name)) || (x->up_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
                free(path);
                item_fail(x, "the spooled file cannot be read", false);
                return;
        }
        if (s.tmp_size >= 0 && x->offset > x->size)
                x->offset = 0; /* longer than the file: not a prefix of it, start over */
        if (x->offset == 0 && EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) == 1) {
                x->md_inline = true;
                x->md_done = 0;
        }
        if (x->offset) {
                x->resumed++;
                log_notice("resuming '%s' at %" PRIu64 " of %" PRIu64 " bytes", x->name, x->offset, x->size);
        }
        if (x->conf.url.proto == STOR_SFTP) {
                /* libssh2 directly: curl cannot keep its write pipeline full */
                close(x->up_fd);
                x->up_fd = -1;
                if (stor_ssh_put(x, path) < 0)
                        item_fail(x, "out of memory", false);
                free(path);
                return;
        }
        free(path);
        if (!op_new(x, PH_UP_PUT, x->tmp)) {
                item_fail(x, "out of memory", false);
                return;
        }
        if (s.tmp_size >= 0 && (uint64_t)s.tmp_size > x->size) {
                snprintf(cmd, sizeof cmd, "DELE %s/%s", x->conf.url.dir, x->tmp);
                x->quote = curl_slist_append(NULL, cmd);
                curl_easy_setopt(x->easy, CURLOPT_QUOTE, x->quote);
        }
        if (x->offset) {
                curl_easy_setopt(x->easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x->offset);
                curl_easy_setopt(x->easy, CURLOPT_APPEND, 1L);
        }
        /* the final name must not exist: RNTO onto an existing name is refused by the final size check */
        snprintf(cmd, sizeof cmd, "RNFR %s/%s", x->conf.url.dir, x->tmp);
        x->postquote = curl_slist_append(NULL, cmd);
        snprintf(cmd, sizeof cmd, "RNTO %s/%s", x->conf.url.dir, x->final);
        x->postquote = curl_slist_append(x->postquote, cmd);
        curl_easy_setopt(x->easy, CURLOPT_POSTQUOTE, x->postquote);
        curl_easy_setopt(x->easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->size);
        curl_easy_setopt(x->easy, CURLOPT_UPLOAD_BUFFERSIZE, STOR_UPLOAD_BUFFER);
        if (x->conf.rate_kib_s)
                curl_easy_setopt(x->easy, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)x->conf.rate_kib_s * 1024);
        if (op_go(x) < 0)
                item_fail(x, "out of memory", false);
}

static void up_checked(struct stor_ctx *x)
{
        struct scan s = { .final = x->final, .tmp = x->tmp, .final_size = -1, .tmp_size = -1 };
        char why[512];

        stor_list_parse(x->buf ? x->buf : "", x->buf_len, scan_one, &s);
        op_clear(x);
        if (s.final_size >= 0 && (uint64_t)s.final_size == x->size) {
                if (x->md_inline && x->md_done == x->size)
                        sum_put(x);
                else
                        hash_start(x);
                return;
        }
        snprintf(why, sizeof why, "final size check: '%s' has %" PRId64 " bytes, want %" PRIu64, x->final,
                 s.final_size, x->size);
        item_fail(x, why, false);
}

/* ---- completion ------------------------------------------------------- */

/* the server's host key is not the pinned one: uploads stop until re-trusted */
static void hostkey_refused(struct stor_ctx *x, char *why, size_t size)
{
        if (!x->hostkey_mismatch) {
                struct mpw w;
                log_audit("security", LOG_LVL_ERR, "sftp-storage",
                          "host key of '%s' does not match the pinned one: uploads stop until "
                          "`devctl storage trust`", x->conf.url.host);
                mpw_init(&w);
                mpw_map_begin(&w);
                mpw_kv_str(&w, "host", x->conf.url.host);
                mpw_kv_str(&w, "pinned", x->pin);
                mpw_map_end(&w);
                if (x->d->bus)
                        ds_daemon_publish(x->d, "storage.hostkey.mismatch", &w);
                mpw_free(&w);
        }
        x->hostkey_mismatch = true;
        snprintf(why, size, "the server's host key does not match the pinned one: refused until "
                            "re-trusted (devctl storage trust)");
}

static void on_error(struct stor_ctx *x, enum stor_phase ph, CURLcode res)
{
        char why[DSQ_ERROR_MAX + 1];

        snprintf(why, sizeof why, "%.60s%s%.120s", curl_easy_strerror(res), x->errbuf[0] ? ": " : "", x->errbuf);
        op_clear(x);
        if (ph == PH_PROBE)
                return; /* handled by the caller */
        if (res == CURLE_PEER_FAILED_VERIFICATION && x->conf.url.proto == STOR_SFTP)
                hostkey_refused(x, why, sizeof why);
        x->failed_attempts++;        snprintf(x->last_error, sizeof x->last_error, "%s", why);
        if (ph == PH_PREP_LIST || ph == PH_PREP_GET || ph == PH_PREP_PUT) {
                x->dir_next_ms = ds_now_mono_ms() + 5000;
                finish_call(&x->test_call, res == CURLE_PEER_FAILED_VERIFICATION ? -DS_EAUTH : -ETIMEDOUT, "url",
                            "%s", why);
                x->adopt = false;
                log_warn("remote directory check failed: %s", why);
                return;
        }
        if (x->id[0])
                item_fail(x, why, false);
}

/* the libssh2 upload ended (ssh.c): on to the final size check */
void stor_ssh_done(struct stor_ctx *x, const struct stor_ssh_result *r)
{
        char why[DSQ_ERROR_MAX + 1];

        x->phase = PH_IDLE;
        if (!r->md_ok)
                x->md_inline = false;
        else
                x->md_done = r->md_done;
        if (r->result < 0) {
                snprintf(why, sizeof why, "%s", r->why);
                if (r->hostkey_mismatch)
                        hostkey_refused(x, why, sizeof why);
                item_fail(x, why, false);
        } else if (!op_new(x, PH_UP_CHECK, "") || op_go(x) < 0) {
                item_fail(x, "out of memory", false);
        }
        if (x->phase == PH_IDLE)
                stor_kick(x);
}

static void probe_done(struct stor_ctx *x)
{
        struct ds_call *c = x->trust_call;

        op_clear(x);
        x->trust_call = NULL;
        if (!c)
                return;
        if (!x->offered[0]) {
                ds_call_fail(c, -ETIMEDOUT, "url", "no host key from '%s': %s", x->conf.url.host,
                             x->last_error[0] ? x->last_error : "no SSH server answered");
                ds_call_finish(&c, -ETIMEDOUT);
                return;
        }
        mpw_kv_str(c->r, "host", x->conf.url.host);
        mpw_kv_str(c->r, "offered", x->offered);
        if (!x->want_fp[0]) {
                /* shown, never trusted silently: the operator gives it back */
                mpw_kv_bool(c->r, "pinned", false);
                mpw_kv_str(c->r, "current_pin", x->pin);
                mpw_kv_str(c->r, "next", "check the fingerprint with the server's administrator, then: devctl "
                                         "storage trust SHA256:<fingerprint>");
                ds_call_finish(&c, 0);
                return;
        }
        if (strcmp(x->want_fp, x->offered)) {
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c),
                          "host key SHA256:%s of '%s' not pinned: '%s' confirmed SHA256:%s", x->offered,
                          x->conf.url.host, ds_call_actor(c), x->want_fp);
                ds_call_fail(c, -EINVAL, "fingerprint", "the server offers SHA256:%s, not the one given", x->offered);
                ds_call_finish(&c, -EINVAL);
                return;
        }
        if (stor_save_pin(x, x->offered) < 0) {
                ds_call_fail(c, -DS_EINTERNAL, NULL, "the pin could not be stored");
                ds_call_finish(&c, -DS_EINTERNAL);
                return;
        }
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "host key SHA256:%s of '%s' pinned by '%s'",
                  x->offered, x->conf.url.host, ds_call_actor(c));
        mpw_kv_bool(c->r, "pinned", true);
        ds_call_finish(&c, 0);
        x->hostkey_mismatch = false;
        x->dir_ok = false;
        x->dir_next_ms = 0;
}

static void check_done(struct stor_ctx *x)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(x->curl.multi, &left))) {
                if (m->msg != CURLMSG_DONE || m->easy_handle != x->easy)
                        continue;
                CURLcode res = m->data.result;
                enum stor_phase ph = x->phase;
                if (ph == PH_PROBE) {
                        if (!x->offered[0])
                                snprintf(x->last_error, sizeof x->last_error, "%.60s: %.120s",
                                         curl_easy_strerror(res), x->errbuf);
                        probe_done(x);
                } else if (res != CURLE_OK && !(ph == PH_UP_PUT && res == CURLE_QUOTE_ERROR)) {
                        on_error(x, ph, res);
                } else if (ph == PH_PREP_LIST) {
                        prep_listed(x);
                } else if (ph == PH_PREP_GET) {
                        prep_marker(x);
                } else if (ph == PH_PREP_PUT) {
                        op_clear(x);
                        dir_accept(x, "marker written at first use");
                } else if (ph == PH_UP_LIST) {
                        up_listed(x);
                } else if (ph == PH_UP_PUT) {
                        /* a refused rename is checked like a success: the final
                         * name either is ours with the right size or not */
                        op_clear(x);
                        if (!op_new(x, PH_UP_CHECK, "") || op_go(x) < 0)
                                item_fail(x, "out of memory", false);
                } else if (ph == PH_UP_CHECK) {
                        up_checked(x);
                } else if (ph == PH_UP_SUM) {
                        op_clear(x);
                        item_done(x, x->dup);
                }
                break;
        }
        if (x->phase == PH_IDLE)
                stor_kick(x);
}

void stor_kick(struct stor_ctx *x)
{
        struct dsq_item it;

        if (!x->curl.multi || !x->q || !x->d || !x->d->loop || x->d->stopping || x->phase != PH_IDLE)
                return;
        if (x->want_probe) {
                x->want_probe = false;
                x->offered[0] = 0;
                if (!op_new(x, PH_PROBE, "") || op_go(x) < 0) {
                        finish_call(&x->trust_call, -ENOMEM, NULL, "%s", "out of memory");
                        return;
                }
                return;
        }
        if (!stor_configured(x) || (x->conf.url.proto == STOR_SFTP && (!x->pin[0] || x->hostkey_mismatch))) {
                if (x->want_test) {
                        x->want_test = false;
                        finish_call(&x->test_call, -EINVAL, "url", "%s",
                                    !stor_configured(x) ? "no destination configured: devctl storage set url=sftp://..."
                                                        : "the server's host key is not pinned: devctl storage trust");
                }
                return;
        }
        if (x->want_test || (!x->dir_ok && ds_now_mono_ms() >= x->dir_next_ms)) {
                x->want_test = false;
                if (op_new(x, PH_PREP_LIST, ""))
                        op_go(x);
                return;
        }
        if (!x->dir_ok)
                return;
        while (x->phase == PH_IDLE && dsq_next(x->q, ds_now_real_ms(), &it, NULL) == 0)
                start_item(x, &it);
}

void stor_xfer_abort(struct stor_ctx *x, const char *why)
{
        /* an operation for the old destination must not go on with the new one */
        if (x->phase == PH_IDLE || x->phase == PH_PROBE)
                return;
        op_clear(x);
        if (x->id[0])
                item_fail(x, why, false);
        finish_call(&x->test_call, -DS_EUNAVAIL, "url", "%s", why);
        x->want_test = false;
        x->adopt = false;
}

int stor_xfer_init(struct stor_ctx *x)
{
        x->up_fd = -1;
        x->hash_fd = x->hash_timer = -1;
        if (!(x->md = EVP_MD_CTX_new()) || stor_ssh_init() < 0)
                return -ENOMEM;
        return ds_curl_loop_init(&x->curl, &x->d->loop, on_progress, x);
}

void stor_xfer_fini(struct stor_ctx *x)
{
        /* the item in flight stays queued: resumed at the next start */
        op_clear(x);
        sum_reset(x);
        EVP_MD_CTX_free(x->md);
        x->md = NULL;
        ds_curl_loop_fini(&x->curl);
        stor_ssh_fini();
        if (x->trust_call)
                finish_call(&x->trust_call, -DS_EUNAVAIL, NULL, "%s", "stopping");
        if (x->test_call)
                finish_call(&x->test_call, -DS_EUNAVAIL, NULL, "%s", "stopping");
}
