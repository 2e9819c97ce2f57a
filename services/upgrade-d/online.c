/* online.c - the online check: TUF metadata over HTTPS (libcurl on the loop,
 * the server verified against online_ca_file, https only), the root chain,
 * timestamp, snapshot, targets; and downloads of a target that resume with
 * an HTTP range after a cut, report progress, and are verified against the
 * targets metadata before anyone may install them */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "state.h"
#include "upgrade.h"
#include "upgrade_int.h"
#include "util.h"

enum { F_ROOT = 1, F_TIMESTAMP, F_SNAPSHOT, F_TARGETS, F_DOWNLOAD };

static int start_fetch(struct upg_ctx *x, int what);

static char *tuf_dir(struct upg_ctx *x)
{
        return path_join(x->d->statedir, "tuf");
}

static void online_fail(struct upg_ctx *x, int code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void online_fail(struct upg_ctx *x, int code, const char *field, const char *fmt, ...)
{
        struct upg_online *o = &x->on;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(o->last_error, sizeof o->last_error, fmt, ap);
        va_end(ap);
        log_warn("online check: %s", o->last_error);
        if (o->call) {
                ds_call_fail(o->call, code, field, "%s", o->last_error);
                ds_call_finish(&o->call, code);
        }
        o->auto_install = false;
        tuf_trusted_free(&o->t);
        o->busy = 0;
        if (o->fd >= 0)
                close(o->fd);
        o->fd = -1;
}

/* The trusted set from the state (no expiry check for what was trusted before). */
static int load_trusted(struct upg_ctx *x, struct ds_err *e)
{
        struct upg_online *o = &x->on;
        char *dir = tuf_dir(x), *t = NULL, *idir = NULL;
        size_t len;
        int r;

        memset(&o->t, 0, sizeof o->t);
        if (!dir)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        r = state_read(dir, "root.json", TUF_META_MAX, &t, &len);
        if (r == -ENOENT) {
                /* the device's initial root, installed with the base image */
                idir = path_join(x->d->paths.confdir, "upgrade/tuf");
                r = idir ? state_read(idir, "root.json", TUF_META_MAX, &t, &len) : -ENOMEM;
        }
        if (r < 0) {
                free(dir);
                free(idir);
                return ds_err_set(e, -ENOENT, "root", "no trusted TUF root (%s/upgrade/tuf/root.json)", x->d->paths.confdir);
        }
        r = tuf_trust_root(&o->t, t, len, e);
        free(t);
        for (int i = TUF_TIMESTAMP; r == 0 && i < TUF_N_ROLES; i++) {
                char name[32];
                t = NULL;
                snprintf(name, sizeof name, "%s.json", tuf_role_names[i]);
                if (state_read(dir, name, TUF_META_MAX, &t, &len) == 0) {
                        struct ds_err ig = { 0 };
                        int (*up[])(struct tuf_trusted *, const char *, size_t, int64_t, struct ds_err *) = {
                                NULL, tuf_update_timestamp, tuf_update_snapshot, tuf_update_targets };
                        if (up[i](&o->t, t, len, INT64_MIN, &ig) < 0)
                                log_warn("online check: trusted %s unreadable: %s", name, ig.msg);
                }
                free(t);
        }
        free(dir);
        free(idir);
        return r;
}

static int save_role(struct upg_ctx *x, const char *name, const char *text, size_t len)
{
        char *dir = tuf_dir(x);
        int r = dir ? state_mkdir_p(dir, 0700) : -ENOMEM;

        if (r == 0)
                r = state_write(dir, name, text, len, 0600);
        free(dir);
        if (r < 0)
                log_errno(r, "online check: cannot keep '%s': %m", name);
        return r;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
        struct upg_ctx *x = ud;
        struct upg_online *o = &x->on;
        size_t len = sz * n;

        if (o->busy == F_DOWNLOAD) {
                if (o->fd < 0 || write(o->fd, p, len) != (ssize_t)len)
                        return 0;
                o->got += len;
                return len;
        }
        if (o->len + len > TUF_META_MAX)
                return 0; /* refused: metadata is small */
        char *nb = realloc(o->buf, o->len + len + 1);
        if (!nb)
                return 0;
        o->buf = nb;
        memcpy(o->buf + o->len, p, len);
        o->len += len;
        o->buf[o->len] = 0;
        return len;
}

static int64_t now_s(struct upg_ctx *x)
{
        int64_t t = ds_now_real_ms() / 1000;

        /* a clock behind the last good check is not trusted: expiry against that */
        x->on.clock_flag = t < x->on.last_good_s;
        return x->on.clock_flag ? x->on.last_good_s : t;
}

static void publish_progress(struct upg_ctx *x, bool done)
{
        struct upg_online *o = &x->on;
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "target", o->target);
        mpw_kv_uint(&w, "bytes", o->got);
        mpw_kv_uint(&w, "total", o->total);
        mpw_kv_bool(&w, "done", done);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, "upgrade.progress", &w);
        mpw_free(&w);
}

static void write_available(struct upg_ctx *x, struct mpw *w)
{
        const json_t *ts = json_object_get(json_object_get(x->on.t.meta[TUF_TARGETS], "signed"), "targets"), *v;
        const char *name;

        mpw_arr_begin(w);
        json_object_foreach((json_t *)ts, name, v) {
                const json_t *c = json_object_get(v, "custom");
                const char *comp = json_string_value(json_object_get(c, "component"));
                const char *ver = json_string_value(json_object_get(c, "version"));
                struct upg_counter *k = comp ? upg_counter_find(&x->counters, comp) : NULL;
                if (!comp || !ver || bundle_version_check(ver))
                        continue;
                mpw_map_begin(w);
                mpw_kv_str(w, "target", name);
                mpw_kv_str(w, "component", comp);
                mpw_kv_str(w, "version", ver);
                mpw_kv_int(w, "length", json_integer_value(json_object_get(v, "length")));
                mpw_kv_bool(w, "newer", !k || !k->version[0] || bundle_version_cmp(ver, k->version) > 0);
                mpw_map_end(w);
        }
        mpw_arr_end(w);
}

static void times_save(struct upg_ctx *x)
{
        json_t *o = json_pack("{s:I,s:I,s:s,s:s}", "last_check_s", (json_int_t)x->on.last_check_s, "last_good_s",
                              (json_int_t)x->on.last_good_s, "newer_component", x->on.newer_comp, "newer_version",
                              x->on.newer_ver);
        char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;

        if (t)
                state_write(x->d->statedir, "online.json", t, strlen(t), 0600);
        free(t);
        json_decref(o);
}

/* The newest target of a component that is newer than what is installed
 * (its component and version into o->newer_*, "" when all are current). */
static bool pick_newer(struct upg_ctx *x, char *buf, size_t size)
{
        const json_t *ts = json_object_get(json_object_get(x->on.t.meta[TUF_TARGETS], "signed"), "targets"), *v;
        const char *name, *best_comp = NULL, *best_ver = NULL;

        json_object_foreach((json_t *)ts, name, v) {
                const json_t *c = json_object_get(v, "custom");
                const char *comp = json_string_value(json_object_get(c, "component"));
                const char *ver = json_string_value(json_object_get(c, "version"));
                struct upg_counter *k = comp ? upg_counter_find(&x->counters, comp) : NULL;
                if (!comp || !ver || bundle_version_check(ver) || strlen(name) >= size || strchr(name, '/') || name[0] == '.')
                        continue;
                if (k && k->version[0] && bundle_version_cmp(ver, k->version) <= 0)
                        continue;
                if (best_comp && (strcmp(comp, best_comp) || bundle_version_cmp(ver, best_ver) <= 0))
                        continue;
                best_comp = comp;
                best_ver = ver;
                snprintf(buf, size, "%s", name);
        }
        snprintf(x->on.newer_comp, sizeof x->on.newer_comp, "%s", best_comp ? best_comp : "");
        snprintf(x->on.newer_ver, sizeof x->on.newer_ver, "%s", best_ver ? best_ver : "");
        return best_comp != NULL;
}

static void check_done(struct upg_ctx *x)
{
        struct upg_online *o = &x->on;
        char newer[sizeof o->target];
        bool auto_go = pick_newer(x, newer, sizeof newer) && x->online_auto_install;

        o->last_check_s = ds_now_real_ms() / 1000;
        if (!o->clock_flag)
                o->last_good_s = o->last_check_s;
        times_save(x);
        o->last_error[0] = 0;
        log_info("online check: root %" PRId64 ", timestamp %" PRId64 ", snapshot %" PRId64 ", targets %" PRId64 "%s",
                 tuf_version(&o->t, TUF_ROOT), tuf_version(&o->t, TUF_TIMESTAMP), tuf_version(&o->t, TUF_SNAPSHOT),
                 tuf_version(&o->t, TUF_TARGETS), o->clock_flag ? " (clock behind the last good check)" : "");
        if (o->call) {
                mpw_kv_int(o->call->r, "root_version", tuf_version(&o->t, TUF_ROOT));
                mpw_kv_int(o->call->r, "targets_version", tuf_version(&o->t, TUF_TARGETS));
                mpw_kv_bool(o->call->r, "clock_trusted", !o->clock_flag);
                mpw_str(o->call->r, "available");
                write_available(x, o->call->r);
                mpw_kv_str(o->call->r, "auto_install", auto_go ? newer : "");
                ds_call_finish(&o->call, 0);
        }
        tuf_trusted_free(&o->t);
        o->busy = 0;
        if (auto_go && x->job.step == UPG_IDLE) {
                log_notice("online check: '%s' is newer: downloading it to install (online_auto_install)", newer);
                o->auto_install = true;
                if (upg_online_download(x, NULL, newer) < 0)
                        o->auto_install = false;
        }
}

static void download_done(struct upg_ctx *x)
{
        struct upg_online *o = &x->on;
        const json_t *tg = tuf_target(&o->t, o->target);
        const char *want = json_string_value(json_object_get(json_object_get(tg, "hashes"), "sha256"));
        char *dir = path_join(x->d->statedir, "downloads"), part[4200], fin[4200], got[65];
        unsigned char h[32], buf[65536];
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned hl;
        ssize_t n;
        int fd;

        snprintf(part, sizeof part, "%s/%s.part", dir, o->target);
        snprintf(fin, sizeof fin, "%s/%s", dir, o->target);
        free(dir);
        close(o->fd);
        o->fd = -1;
        if ((fd = open(part, O_RDONLY | O_CLOEXEC)) < 0 || !md) {
                EVP_MD_CTX_free(md);
                online_fail(x, -EIO, "target", "'%s' vanished", o->target);
                return;
        }
        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        while ((n = read(fd, buf, sizeof buf)) > 0)
                EVP_DigestUpdate(md, buf, (size_t)n);
        close(fd);
        EVP_DigestFinal_ex(md, h, &hl);
        EVP_MD_CTX_free(md);
        ds_hex(h, 32, got);
        publish_progress(x, true);
        if (o->got != o->total || !want || strcmp(got, want)) {
                unlink(part);
                online_fail(x, -EINVAL, "sha256", "'%s' does not match the length and SHA-256 of the targets metadata",
                            o->target);
                return;
        }
        if (rename(part, fin) < 0) {
                online_fail(x, -errno, "target", "'%s': %s", fin, strerror(errno));
                return;
        }
        log_audit("operation", LOG_LVL_NOTICE, o->actor, "online: '%s' downloaded and verified (%" PRIu64 " bytes%s)",
                  o->target, o->total, o->resumed ? ", resumed" : "");
        if (o->call) {
                mpw_kv_str(o->call->r, "file", fin);
                mpw_kv_uint(o->call->r, "bytes", o->total);
                mpw_kv_bool(o->call->r, "resumed", o->resumed);
                ds_call_finish(&o->call, 0);
        }
        tuf_trusted_free(&o->t);
        o->busy = 0;
        if (o->auto_install) {
                /* the bundle's own signature and the rules of a manual install apply */
                o->auto_install = false;
                upg_install_start(x, NULL, fin, false);
        }
}

/* One fetched file: verified, kept, and on to the next. */
static void fetched(struct upg_ctx *x, long status)
{
        struct upg_online *o = &x->on;
        struct ds_err e = { 0 };
        int64_t now = now_s(x);
        int what = o->busy, r = 0;
        char name[48];

        if (what == F_DOWNLOAD) {
                if (status != 200 && status != 206)
                        online_fail(x, -DS_EUNAVAIL, "target", "'%s': HTTP %ld", o->target, status);
                else
                        download_done(x);
                return;
        }
        if (what == F_ROOT && status == 404) {
                /* no newer root: the one trusted must not have expired */
                if ((r = tuf_check_root(&o->t, now, &e)) < 0)
                        goto fail;
                start_fetch(x, F_TIMESTAMP);
                return;
        }
        if (status != 200) {
                online_fail(x, -DS_EUNAVAIL, "url", "%s: HTTP %ld", what == F_ROOT ? "root" : tuf_role_names[what - 1], status);
                return;
        }
        switch (what) {
        case F_ROOT:
                if ((r = tuf_update_root(&o->t, o->buf, o->len, &e)) == 0) {
                        save_role(x, "root.json", o->buf, o->len);
                        log_notice("online check: root rotated to version %" PRId64, tuf_version(&o->t, TUF_ROOT));
                        start_fetch(x, F_ROOT);
                        return;
                }
                break;
        case F_TIMESTAMP: r = tuf_update_timestamp(&o->t, o->buf, o->len, now, &e); break;
        case F_SNAPSHOT: r = tuf_update_snapshot(&o->t, o->buf, o->len, now, &e); break;
        case F_TARGETS: r = tuf_update_targets(&o->t, o->buf, o->len, now, &e); break;
        }
        if (r < 0)
                goto fail;
        snprintf(name, sizeof name, "%s.json", tuf_role_names[what - 1]);
        save_role(x, name, o->buf, o->len);
        if (what == F_TARGETS)
                check_done(x);
        else
                start_fetch(x, what + 1);
        return;
fail:
        log_audit("security", LOG_LVL_WARNING, o->actor, "online check: metadata refused: %s", e.msg);
        online_fail(x, e.code, e.field, "%s", e.msg);
}

static void on_curl(void *ud)
{
        struct upg_ctx *x = ud;
        struct upg_online *o = &x->on;
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(o->curl.multi, &left))) {
                long status = 0;
                CURLcode res;
                if (m->msg != CURLMSG_DONE || m->easy_handle != o->easy)
                        continue;
                res = m->data.result;
                curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
                curl_multi_remove_handle(o->curl.multi, o->easy);
                curl_easy_cleanup(o->easy);
                o->easy = NULL;
                if (res != CURLE_OK) {
                        online_fail(x, -DS_EUNAVAIL, "url", "%s%s: %s", o->busy == F_DOWNLOAD ? "download of " : "",
                                    o->busy == F_DOWNLOAD ? o->target : "metadata", curl_easy_strerror(res));
                        return;
                }
                fetched(x, status);
                return;
        }
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        struct upg_ctx *x = ud;
        int64_t t = ds_now_mono_ms();

        (void)dltotal;
        (void)dlnow;
        (void)ultotal;
        (void)ulnow;
        if (x->on.busy == F_DOWNLOAD && t - x->on.progress_ms >= 500) {
                x->on.progress_ms = t;
                publish_progress(x, false);
        }
        return 0;
}

static int start_fetch(struct upg_ctx *x, int what)
{
        struct upg_online *o = &x->on;
        char url[2300];
        CURL *c;

        o->busy = what;
        o->len = 0;
        if (what == F_ROOT)
                snprintf(url, sizeof url, "%s/metadata/%" PRId64 ".root.json", x->online_url, tuf_version(&o->t, TUF_ROOT) + 1);
        else if (what == F_DOWNLOAD)
                snprintf(url, sizeof url, "%s/targets/%s", x->online_url, o->target);
        else
                snprintf(url, sizeof url, "%s/metadata/%s.json", x->online_url, tuf_role_names[what - 1]);
        if (ds_curl_loop_open(&o->curl) < 0 || !(c = curl_easy_init())) {
                online_fail(x, -ENOMEM, NULL, "out of memory");
                return -ENOMEM;
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (x->online_ca[0])
                curl_easy_setopt(c, CURLOPT_CAINFO, x->online_ca);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (what == F_DOWNLOAD) {
                curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)o->got);
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xfer);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(o->total - o->got));
        } else {
                curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)TUF_META_MAX);
        }
        o->easy = c;
        if (curl_multi_add_handle(o->curl.multi, c) != CURLM_OK) {
                curl_easy_cleanup(c);
                o->easy = NULL;
                online_fail(x, -ENOMEM, NULL, "curl");
                return -ENOMEM;
        }
        return 0;
}

int upg_online_init(struct upg_ctx *x)
{
        char *t = NULL;
        size_t len;

        x->on.fd = -1;
        if (state_read(x->d->statedir, "online.json", 4096, &t, &len) == 0) {
                json_t *o = json_loadb(t, len, 0, NULL);
                x->on.last_check_s = json_integer_value(json_object_get(o, "last_check_s"));
                x->on.last_good_s = json_integer_value(json_object_get(o, "last_good_s"));
                snprintf(x->on.newer_comp, sizeof x->on.newer_comp, "%s",
                         json_string_value(json_object_get(o, "newer_component")) ?: "");
                snprintf(x->on.newer_ver, sizeof x->on.newer_ver, "%s",
                         json_string_value(json_object_get(o, "newer_version")) ?: "");
                json_decref(o);
        }
        free(t);
        /* libcurl and its TLS start with the first check: none, none of their memory */
        ds_curl_loop_prepare(&x->on.curl, &x->d->loop, on_curl, x);
        return 0;
}

void upg_online_fini(struct upg_ctx *x)
{
        if (x->on.easy) {
                curl_multi_remove_handle(x->on.curl.multi, x->on.easy);
                curl_easy_cleanup(x->on.easy);
                x->on.easy = NULL;
        }
        if (x->on.call)
                ds_call_finish(&x->on.call, -DS_EUNAVAIL);
        tuf_trusted_free(&x->on.t);
        free(x->on.buf);
        if (x->on.fd >= 0)
                close(x->on.fd);
        ds_curl_loop_fini(&x->on.curl);
}

int upg_online_check(struct upg_ctx *x, struct ds_call *c, const char *actor)
{
        struct ds_err e = { 0 };

        if (!x->online_url[0])
                return c ? ds_call_fail(c, -EINVAL, "online_url", "no update server: devctl config set upgrade-d online_url=https://...")
                         : -EINVAL;
        if (x->on.busy)
                return c ? ds_call_fail(c, -EBUSY, NULL, "a check or download is under way") : -EBUSY;
        if (load_trusted(x, &e) < 0) {
                snprintf(x->on.last_error, sizeof x->on.last_error, "%s", e.msg);
                return c ? ds_call_fail(c, e.code, e.field, "%s", e.msg) : e.code;
        }
        snprintf(x->on.actor, sizeof x->on.actor, "%s", actor);
        if (c && !(x->on.call = ds_call_detach(c))) {
                tuf_trusted_free(&x->on.t);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        start_fetch(x, F_ROOT);
        return DS_DEFER;
}

int upg_online_download(struct upg_ctx *x, struct ds_call *c, const char *target)
{
        struct upg_online *o = &x->on;
        struct ds_err e = { 0 };
        const json_t *tg;
        char *dir, part[4200];
        struct stat st;

        if (o->busy)
                return upg_fail(c, -EBUSY, NULL, "a check or download is under way");
        if (strchr(target, '/') || target[0] == '.')
                return upg_fail(c, -EINVAL, "target", "a target name, not a path");
        /* what the last verified check trusted, again from the state */
        if (load_trusted(x, &e) < 0)
                return upg_fail(c, e.code, e.field, "%s", e.msg);
        if (tuf_check_root(&o->t, now_s(x), &e) < 0 || !(tg = tuf_target(&o->t, target))) {
                tuf_trusted_free(&o->t);
                return e.msg[0] ? upg_fail(c, e.code, e.field, "%s", e.msg)
                                : upg_fail(c, -ENOENT, "target", "'%s' is not in the verified targets (devctl upgrade check)", target);
        }
        if (!json_is_integer(json_object_get(tg, "length")) || json_integer_value(json_object_get(tg, "length")) < 1) {
                tuf_trusted_free(&o->t);
                return upg_fail(c, -EINVAL, "target", "'%s' has no length in the targets metadata", target);
        }
        snprintf(o->target, sizeof o->target, "%s", target);
        o->total = (uint64_t)json_integer_value(json_object_get(tg, "length"));
        dir = path_join(x->d->statedir, "downloads");
        if (!dir || state_mkdir_p(dir, 0700) < 0) {
                free(dir);
                tuf_trusted_free(&o->t);
                return upg_fail(c, -EIO, NULL, "cannot create the downloads directory");
        }
        snprintf(part, sizeof part, "%s/%s.part", dir, target);
        free(dir);
        /* a cut download goes on from where it stopped (an HTTP range) */
        o->got = stat(part, &st) == 0 && (uint64_t)st.st_size <= o->total ? (uint64_t)st.st_size : 0;
        o->resumed = o->got > 0;
        if ((o->fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (o->got ? O_APPEND : O_TRUNC), 0600)) < 0) {
                tuf_trusted_free(&o->t);
                return upg_fail(c, -errno, "target", "'%s': %s", part, strerror(errno));
        }
        snprintf(o->actor, sizeof o->actor, "%s", UPG_ACTOR(c));
        if (c && !(o->call = ds_call_detach(c))) {
                close(o->fd);
                o->fd = -1;
                tuf_trusted_free(&o->t);
                return upg_fail(c, -ENOMEM, NULL, "out of memory");
        }
        if (o->got == o->total) {
                o->busy = F_DOWNLOAD;
                download_done(x);
                return DS_DEFER;
        }
        start_fetch(x, F_DOWNLOAD);
        return DS_DEFER;
}
