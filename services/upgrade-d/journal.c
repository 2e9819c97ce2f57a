/* journal.c - what survives a kill: the install journal, the history, the
 * version directories and their links (components/NAME/{VERSION,current,previous}) */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "upgrade.h"
#include "upgrade_int.h"
#include "util.h"

int upg_comp_dir(struct upg_ctx *x, const char *name, char *buf, size_t size)
{
        if (snprintf(buf, size, "%s/%s", x->components_dir, name) >= (int)size)
                return -ENAMETOOLONG;
        return 0;
}

int upg_link_get(struct upg_ctx *x, const char *name, const char *link, char *buf, size_t size)
{
        char p[4200];
        ssize_t n;

        buf[0] = '\0';
        if (snprintf(p, sizeof p, "%s/%s/%s", x->components_dir, name, link) >= (int)sizeof p)
                return -ENAMETOOLONG;
        n = readlink(p, buf, size - 1);
        if (n < 0)
                return errno == ENOENT ? 0 : -errno;
        buf[n] = '\0';
        /* only a version directory beside it: never a path elsewhere */
        if (strchr(buf, '/') || bundle_version_check(buf)) {
                buf[0] = '\0';
                return -EINVAL;
        }
        return 0;
}

int upg_link_set(struct upg_ctx *x, const char *name, const char *link, const char *target)
{
        char dir[4200], p[4300], tmp[4300];

        if (upg_comp_dir(x, name, dir, sizeof dir) < 0 || snprintf(p, sizeof p, "%s/%s", dir, link) >= (int)sizeof p ||
            snprintf(tmp, sizeof tmp, "%s/.%s.new", dir, link) >= (int)sizeof tmp)
                return -ENAMETOOLONG;
        if (!target || !target[0]) {
                if (unlink(p) < 0 && errno != ENOENT)
                        return -errno;
                return state_sync_dir(dir);
        }
        /* a new link renamed over the old one: the switch is atomic */
        unlink(tmp);
        if (symlink(target, tmp) < 0)
                return -errno;
        if (rename(tmp, p) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return state_sync_dir(dir);
}

/* The marker written into a version directory once it is verified and unpacked. */
int upg_marker_write(const char *vdir, const char *signer, const char *version, uint64_t sv)
{
        json_t *o = json_pack("{sssssI}", "signer", signer, "version", version, "security_version", (json_int_t)sv);
        char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
        int r = s ? state_write(vdir, UPG_MARKER, s, strlen(s), 0644) : -ENOMEM;

        free(s);
        json_decref(o);
        return r;
}

int upg_marker_read(const char *vdir, uint64_t *ret_sv, char *signer, size_t size)
{
        char *t = NULL;
        size_t len;
        json_t *o, *sv, *sg;
        int r = state_read(vdir, UPG_MARKER, 8192, &t, &len);

        if (r < 0)
                return r;
        o = json_loadb(t, len, 0, NULL);
        free(t);
        sv = json_object_get(o, "security_version");
        sg = json_object_get(o, "signer");
        if (!json_is_integer(sv) || !json_is_string(sg)) {
                json_decref(o);
                return -EBADMSG;
        }
        if (ret_sv)
                *ret_sv = (uint64_t)json_integer_value(sv);
        if (signer)
                snprintf(signer, size, "%s", json_string_value(sg));
        json_decref(o);
        return 0;
}

/* Removes every version directory but the ones the links name, and leftovers. */
void upg_prune(struct upg_ctx *x, const char *name)
{
        char dir[4200], cur[BUNDLE_VERSION_MAX + 1], prev[BUNDLE_VERSION_MAX + 1];
        struct dirent *de;
        DIR *d;

        if (upg_comp_dir(x, name, dir, sizeof dir) < 0 || !(d = opendir(dir)))
                return;
        upg_link_get(x, name, UPG_CURRENT, cur, sizeof cur);
        upg_link_get(x, name, UPG_PREVIOUS, prev, sizeof prev);
        while ((de = readdir(d))) {
                char p[4500];
                struct stat st;
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, UPG_CURRENT) ||
                    !strcmp(de->d_name, UPG_PREVIOUS) || !strcmp(de->d_name, cur) || !strcmp(de->d_name, prev))
                        continue;
                snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        state_remove_tree(AT_FDCWD, p);
                else if (de->d_name[0] == '.')
                        unlink(p);
        }
        closedir(d);
}

static const char *const step_names[] = {
        [UPG_IDLE] = "idle",         [UPG_PROBE] = "unpacking", [UPG_SWITCHED] = "switched",
        [UPG_GATE] = "health-gate",  [UPG_COMMITTING] = "committing", [UPG_ROLLBACK] = "rollback",
        [UPG_VERIFY] = "verifying",
};

const char *upg_step_name(enum upg_step s)
{
        return s <= UPG_VERIFY ? step_names[s] : "?";
}

int upg_journal_write(struct upg_ctx *x)
{
        const struct upg_job *j = &x->job;
        json_t *o = json_pack("{ss ss ss ss ss sI ss ss ss sI}", "step", upg_step_name(j->step), "component", j->component,
                              "version", j->version, "old_version", j->old_version, "old_target", j->old_target,
                              "security_version", (json_int_t)j->security_version, "actor", j->actor, "reason",
                              j->reason, "signer", j->signer, "started_ms", (json_int_t)j->started_ms);
        char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
        int r = s ? state_write(x->d->statedir, UPG_JOURNAL, s, strlen(s), 0600) : -ENOMEM;

        free(s);
        json_decref(o);
        if (r < 0)
                log_errno(r, "journal: cannot write: %m");
        return r;
}

int upg_journal_read(struct upg_ctx *x, struct upg_job *ret)
{
        struct upg_job j = { 0 };
        char *t = NULL;
        size_t len;
        json_t *o;
        const char *step = "";
        int r = state_read(x->d->statedir, UPG_JOURNAL, 1 << 16, &t, &len);

        if (r < 0)
                return r;
        o = json_loadb(t, len, 0, NULL);
        free(t);
#define S(k, f)                                                                                                  \
        do {                                                                                                     \
                json_t *v_ = json_object_get(o, k);                                                              \
                if (json_is_string(v_))                                                                          \
                        snprintf(j.f, sizeof j.f, "%s", json_string_value(v_));                                  \
        } while (0)
        S("component", component);
        S("version", version);
        S("old_version", old_version);
        S("old_target", old_target);
        S("actor", actor);
        S("reason", reason);
        S("signer", signer);
#undef S
        if (json_is_string(json_object_get(o, "step")))
                step = json_string_value(json_object_get(o, "step"));
        for (unsigned i = UPG_PROBE; i <= UPG_ROLLBACK; i++)
                if (!strcmp(step, step_names[i]))
                        j.step = (enum upg_step)i;
        j.security_version = (uint64_t)json_integer_value(json_object_get(o, "security_version"));
        j.started_ms = json_integer_value(json_object_get(o, "started_ms"));
        json_decref(o);
        if (j.step == UPG_IDLE || ds_check_name(j.component, strlen(j.component)) || bundle_version_check(j.version) ||
            (j.old_target[0] && bundle_version_check(j.old_target)))
                return -EBADMSG;
        *ret = j;
        return 0;
}

void upg_journal_remove(struct upg_ctx *x)
{
        int r = state_remove(x->d->statedir, UPG_JOURNAL);

        if (r < 0 && r != -ENOENT)
                log_errno(r, "journal: cannot remove: %m");
}

void upg_history_add(struct upg_ctx *x, const char *result, const char *reason)
{
        const struct upg_job *j = &x->job;
        json_t *a = NULL, *n;
        char *t = NULL, *s, ts[40];
        size_t len;

        if (state_read(x->d->statedir, UPG_HISTORY, 1 << 20, &t, &len) == 0)
                a = json_loadb(t, len, 0, NULL);
        free(t);
        if (!json_is_array(a)) {
                json_decref(a);
                a = json_array();
        }
        ds_format_time(ds_now_real_ms(), ts, sizeof ts);
        n = json_pack("{ss ss ss ss ss ss ss sI}", "time", ts, "component", j->component, "version", j->version, "from",
                      j->old_version[0] ? j->old_version : (j->old_target[0] ? j->old_target : "base"), "result", result,
                      "reason", reason ? reason : "", "actor", j->actor,
                      "duration_ms", (json_int_t)(ds_now_mono_ms() - j->started_ms));
        json_array_append_new(a, n);
        while (json_array_size(a) > UPG_HISTORY_MAX)
                json_array_remove(a, 0);
        if ((s = json_dumps(a, JSON_INDENT(1)))) {
                int r = state_write(x->d->statedir, UPG_HISTORY, s, strlen(s), 0600);
                if (r < 0)
                        log_errno(r, "history: cannot write: %m");
        }
        free(s);
        json_decref(a);
}

void upg_history_write(struct upg_ctx *x, struct mpw *w, int max)
{
        json_t *a = NULL, *v;
        char *t = NULL;
        size_t len, i, from;

        if (state_read(x->d->statedir, UPG_HISTORY, 1 << 20, &t, &len) == 0)
                a = json_loadb(t, len, 0, NULL);
        free(t);
        mpw_arr_begin(w);
        from = json_array_size(a) > (size_t)max ? json_array_size(a) - (size_t)max : 0;
        json_array_foreach(a, i, v) {
                const char *k;
                json_t *f;
                if (i < from)
                        continue;
                mpw_map_begin(w);
                json_object_foreach(v, k, f) {
                        if (json_is_string(f))
                                mpw_kv_str(w, k, json_string_value(f));
                        else if (json_is_integer(f))
                                mpw_kv_int(w, k, json_integer_value(f));
                }
                mpw_map_end(w);
        }
        mpw_arr_end(w);
        json_decref(a);
}

int upg_fail(struct ds_call *c, int code, const char *field, const char *fmt, ...)
{
        char msg[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (c)
                return ds_call_fail(c, code, field, "%s", msg);
        log_warn("upgrade (automatic): %s%s%s", field ? field : "", field ? ": " : "", msg);
        return code;
}
