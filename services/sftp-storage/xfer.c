/* xfer.c - the remote side, one operation at a time, on the destination's
 * backend: SFTP on libssh2 (ssh.c, one SSH connection for everything the
 * queue has to send now), explicit FTPS on libcurl (ftps.c). Here the
 * order: the host-key probe (trust), the exclusive directory check (list,
 * marker), and per item: list (sizes of its temp and final names), upload
 * appending from the remote temp size and rename to a final name that must
 * not exist, list again (final size check), the SHA-256 sidecar. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "util.h"

bool stor_configured(const struct stor_ctx *x)
{
        return x->conf.configured;
}

static void op_clear(struct stor_ctx *x)
{
        stor_curl_clear(x);
        free(x->buf);
        x->buf = NULL;
        x->buf_len = 0;
        x->phase = PH_IDLE;
}

/* one operation on the destination's backend (the probe: always SSH) */
static int op_start(struct stor_ctx *x, const struct stor_op *op)
{
        int r;

        free(x->buf);
        x->buf = NULL;
        x->buf_len = 0;
        if (op->ph == PH_PROBE || x->conf.url.proto == STOR_SFTP)
                r = stor_ssh_op(x, op);
        else
                r = stor_curl_op(x, op);
        if (r < 0) {
                op_clear(x);
                return -ENOMEM;
        }
        return 0;
}

static int op_list(struct stor_ctx *x, enum stor_phase ph)
{
        return op_start(x, &(struct stor_op){ .ph = ph, .name = "" });
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

        if (n < 0)
                return -ENOMEM;
        /* only where no marker is, unless adopting: another device's may
         * have appeared since the listing */
        return op_start(x, &(struct stor_op){ .ph = PH_PREP_PUT, .name = STOR_MARKER, .mem = text, .mem_len = (size_t)n,
                                              .excl = !x->adopt });
}

static void prep_listed(struct stor_ctx *x)
{
        struct scan s = { 0 };
        char why[512];

        stor_list_parse(x->buf ? x->buf : "", x->buf_len, scan_one, &s);
        op_clear(x);
        if (s.marker) {
                if (op_start(x, &(struct stor_op){ .ph = PH_PREP_GET, .name = STOR_MARKER, .get = true }) < 0)
                        dir_refuse(x, "out of memory");
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
        return op_list(x, PH_UP_LIST);
}

/* The sidecar: "HEX  NAME\n" as sha256sum writes it, uploaded to a temp
 * name and renamed, after the file's own final size check. */
static void sum_put(struct stor_ctx *x)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdl = 0;
        char hex[2 * 32 + 1];

        if (EVP_DigestFinal_ex(x->md, md, &mdl) != 1 || mdl != 32) {
                item_fail(x, "SHA-256 of the file failed", false);
                return;
        }
        ds_hex(md, mdl, hex);
        snprintf(x->sum, sizeof x->sum, "%s  %s\n", hex, x->final);
        sum_reset(x);
        if (op_start(x, &(struct stor_op){ .ph = PH_UP_SUM, .name = x->sum_tmp, .mem = x->sum,
                                           .mem_len = strlen(x->sum), .rename_to = x->sum_final }) < 0)
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
        char *path, why[512];
        int r;

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
        if (!(path = stor_held_path(x, x->name)) || access(path, R_OK) < 0) {
                free(path);
                item_fail(x, "the spooled file cannot be read", false);
                return;
        }
        if (s.tmp_size >= 0 && x->offset > x->size)
                x->offset = 0; /* longer than the file: not a prefix of it, start over */
        /* the sum of the whole file: SFTP computes it beside the send
         * whatever the offset; FTPS from what it sends, so from 0 only */
        if ((x->offset == 0 || x->conf.url.proto == STOR_SFTP) && EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) == 1) {
                x->md_inline = true;
                x->md_done = 0;
        }
        if (x->offset) {
                x->resumed++;
                log_notice("resuming '%s' at %" PRIu64 " of %" PRIu64 " bytes", x->name, x->offset, x->size);
        }
        r = op_start(x, &(struct stor_op){ .ph = PH_UP_PUT, .name = x->tmp, .file = path, .offset = x->offset,
                                           .size = x->size, .rename_to = x->final,
                                           .del_first = s.tmp_size >= 0 && (uint64_t)s.tmp_size > x->size });
        free(path);
        if (r < 0)
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

static void on_error(struct stor_ctx *x, enum stor_phase ph, const struct stor_op_result *r)
{
        char why[DSQ_ERROR_MAX + 1];

        snprintf(why, sizeof why, "%s", r->why);
        op_clear(x);
        if (r->peer_refused && x->conf.url.proto == STOR_SFTP)
                hostkey_refused(x, why, sizeof why);
        x->failed_attempts++;
        snprintf(x->last_error, sizeof x->last_error, "%s", why);
        if (ph == PH_PREP_LIST || ph == PH_PREP_GET || ph == PH_PREP_PUT) {
                x->dir_next_ms = ds_now_mono_ms() + 5000;
                finish_call(&x->test_call, r->peer_refused ? -DS_EAUTH : -ETIMEDOUT, "url", "%s", why);
                x->adopt = false;
                log_warn("remote directory check failed: %s", why);
                return;
        }
        if (x->id[0])
                item_fail(x, why, false);
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

/* an operation ended (either backend): on to the next step */
static void op_finished(struct stor_ctx *x, const struct stor_op_result *r)
{
        enum stor_phase ph = x->phase;

        if (ph == PH_PROBE) {
                if (!x->offered[0])
                        snprintf(x->last_error, sizeof x->last_error, "%s", r->why);
                probe_done(x);
        } else if (r->rc < 0) {
                on_error(x, ph, r);
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
                if (op_list(x, PH_UP_CHECK) < 0)
                        item_fail(x, "out of memory", false);
        } else if (ph == PH_UP_CHECK) {
                up_checked(x);
        } else if (ph == PH_UP_SUM) {
                op_clear(x);
                item_done(x, x->dup);
        }
        if (x->phase == PH_IDLE)
                stor_kick(x);
}

static void kick(struct stor_ctx *x)
{
        struct dsq_item it;

        if (x->want_probe) {
                x->want_probe = false;
                x->offered[0] = 0;
                if (op_start(x, &(struct stor_op){ .ph = PH_PROBE, .name = "" }) < 0)
                        finish_call(&x->trust_call, -ENOMEM, NULL, "%s", "out of memory");
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
                if (op_list(x, PH_PREP_LIST) < 0)
                        dir_refuse(x, "out of memory");
                return;
        }
        if (!x->dir_ok)
                return;
        while (x->phase == PH_IDLE && dsq_next(x->q, ds_now_real_ms(), &it, NULL) == 0)
                start_item(x, &it);
}

/* the next operation, if there is one; the SSH connection stays open for
 * as long as there is, and is closed when there is nothing more to send now */
void stor_kick(struct stor_ctx *x)
{
        if (!x->md || !x->q || !x->d || !x->d->loop || x->d->stopping || x->phase != PH_IDLE)
                return;
        kick(x);
        if (x->phase == PH_IDLE)
                stor_ssh_close(x);
}

void stor_xfer_abort(struct stor_ctx *x, const char *why)
{
        /* an operation for the old destination must not go on with the new
         * one, nor its connection; a probe's key is the old server's: never
         * pinned for the new one */
        stor_ssh_cancel(x);
        if (x->phase == PH_PROBE) {
                op_clear(x);
                finish_call(&x->trust_call, -DS_EUNAVAIL, "url", "%s", why);
                return;
        }
        if (x->phase == PH_IDLE)
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
        x->op_done = op_finished;
        if (!(x->md = EVP_MD_CTX_new()))
                return -ENOMEM;
        return 0;
}

void stor_xfer_fini(struct stor_ctx *x)
{
        /* the item in flight stays queued: resumed at the next start */
        stor_ssh_cancel(x);
        op_clear(x);
        sum_reset(x);
        EVP_MD_CTX_free(x->md);
        x->md = NULL;
        stor_curl_fini(x);
        stor_ssh_fini();
        if (x->trust_call)
                finish_call(&x->trust_call, -DS_EUNAVAIL, NULL, "%s", "stopping");
        if (x->test_call)
                finish_call(&x->test_call, -DS_EUNAVAIL, NULL, "%s", "stopping");
}
