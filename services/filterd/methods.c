/* methods.c - filterd's method table and thin handlers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filterd.h"
#include "log.h"
#include "service.h"
#include "state.h"
#include "util.h"

/* The methods' arguments, by their index in the tables below. */
enum { SHOW_BRIEF, SHOW_OFFSET, SHOW_LIMIT };
enum { MODE_MODE, MODE_FORCE };
enum { ADD_ENTRIES, ADD_FORCE };
enum { DEL_ENTRIES, DEL_FORCE };
enum { APPLY_CONFIRM_WITHIN, APPLY_FORCE };
enum { CHECK_IP, CHECK_MAC };
enum { BAN_ADD_IP, BAN_ADD_SECONDS };
enum { BAN_DEL_IP };

static void publish_applied(struct filterd *f, const char *actor, const char *what)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", actor);
        mpw_kv_str(&w, "what", what);
        mpw_kv_str(&w, "mode", fd_mode_names[f->running.mode]);
        mpw_kv_uint(&w, "entries", f->running.list.n);
        mpw_map_end(&w);
        ds_daemon_publish(f->d, "filter.applied", &w);
        mpw_free(&w);
}

/* ---- entries from the caller --------------------------------------------------------- */

/* Parses the entries argument a into a new array (caller frees); names the bad entry. */
static int parse_entries(struct ds_call *c, const msgpack_object *a, struct fd_entry **ret, size_t *ret_n)
{
        struct fd_entry *v;
        char why[128];

        v = calloc(a->via.array.size ? a->via.array.size : 1, sizeof *v);
        if (!v)
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        for (uint32_t i = 0; i < a->via.array.size; i++) {
                const msgpack_object *s = &a->via.array.ptr[i];
                char field[32];

                if (fd_entry_parse(s->via.str.ptr, s->via.str.size, &v[i], why, sizeof why) < 0) {
                        snprintf(field, sizeof field, "entries[%u]", i);
                        free(v);
                        return ds_call_fail(c, -EINVAL, field, "'%.*s': %s",
                                            (int)(s->via.str.size > 64 ? 64 : s->via.str.size), s->via.str.ptr, why);
                }
        }
        *ret = v;
        *ret_n = a->via.array.size;
        return 0;
}

/* force: the index of the method's "force" argument */
static int guard(struct filterd *f, struct ds_call *c, unsigned force, const struct fd_config *cfg, const char *field)
{
        char why[384];

        if (ds_tb_bool(c, force, false))
                return 0;
        if (fd_guard(cfg, c->caller.source, ds_settings_str(&f->d->settings, "management"), why, sizeof why) < 0) {
                log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "filter: refused for '%s': %s",
                          ds_call_actor(c), why);
                snprintf(c->err.reason, sizeof c->err.reason, "self-lockout");
                return ds_call_fail(c, -EINVAL, field, "%s", why);
        }
        return 0;
}

/* A page of the list: a terminal has no use for 10,000 lines at once. */
static void write_entries(struct mpw *w, const char *key, const struct fd_list *l, size_t offset, size_t limit)
{
        mpw_str(w, key);
        mpw_arr_begin(w);
        for (size_t i = offset; i < l->n && i - offset < limit; i++)
                mpw_str(w, l->v[i].text);
        mpw_arr_end(w);
}

/* ---- handlers ---------------------------------------------------------------------- */

static int h_filter_show(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        bool pending = !fd_config_equal(&f->running, &f->candidate), brief = ds_tb_bool(c, SHOW_BRIEF, false);
        size_t offset = (size_t)ds_tb_int(c, SHOW_OFFSET, 0), limit = (size_t)ds_tb_int(c, SHOW_LIMIT, 100);

        mpw_kv_str(c->r, "mode", fd_mode_names[f->running.mode]);
        mpw_kv_uint(c->r, "count", f->running.list.n);
        if (!brief)
                write_entries(c->r, "entries", &f->running.list, offset, limit);
        mpw_kv_bool(c->r, "pending", pending);
        if (pending) {
                mpw_kv_str(c->r, "candidate_mode", fd_mode_names[f->candidate.mode]);
                mpw_kv_uint(c->r, "candidate_count", f->candidate.list.n);
                if (!brief)
                        write_entries(c->r, "candidate_entries", &f->candidate.list, offset, limit);
        }
        if (!brief && (offset > 0 || f->running.list.n > offset + limit ||
                       (pending && f->candidate.list.n > offset + limit)))
                mpw_kv_str(c->r, "page", "partial: use offset= and limit= for the rest");
        mpw_kv_bool(c->r, "confirm_pending", f->confirm_pending);
        if (f->confirm_pending)
                mpw_kv_int(c->r, "confirm_left_s", (f->confirm_deadline_ms - ds_now_mono_ms() + 999) / 1000);
        mpw_kv_bool(c->r, "enforced", f->nft != NULL);
        filterd_write_ports(f, c->r);
        return 0;
}

static int h_filter_mode(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        struct fd_config next = { 0 };
        char mode[16];
        int r;

        ds_tb_str(c, MODE_MODE, mode, sizeof mode);
        r = fd_config_copy(&next, &f->candidate);
        if (r < 0)
                return ds_call_fail(c, r, NULL, "out of memory");
        fd_mode_parse(mode, &next.mode); /* the schema allowed only the three names */
        r = guard(f, c, MODE_FORCE, &next, "mode");
        if (r == 0) {
                f->candidate.mode = next.mode;
                filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
                log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: mode '%s' staged by '%s'", mode,
                          ds_call_actor(c));
                mpw_kv_str(c->r, "mode", mode);
                mpw_kv_bool(c->r, "pending", !fd_config_equal(&f->running, &f->candidate));
        }
        fd_config_free(&next);
        return r;
}

static int h_filter_add(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        struct fd_config next = { 0 };
        struct fd_entry *v;
        size_t n, added = 0;
        int r;

        r = parse_entries(c, ds_tb(c, ADD_ENTRIES), &v, &n);
        if (r < 0)
                return r;
        if (fd_config_copy(&next, &f->candidate) < 0) {
                free(v);
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        }
        r = fd_list_add(&next.list, v, n, &added);
        free(v);
        if (r == -E2BIG) {
                fd_config_free(&next);
                return ds_call_fail(c, -EINVAL, "entries", "the list would exceed %d entries (it holds %zu)",
                                    FD_MAX_ENTRIES, f->candidate.list.n);
        }
        if (r < 0) {
                fd_config_free(&next);
                return ds_call_fail(c, r, NULL, "out of memory");
        }
        /* in deny mode an added entry may lock out as a removed one does in allow mode */
        r = guard(f, c, ADD_FORCE, &next, "entries");
        if (r < 0) {
                fd_config_free(&next);
                return r;
        }
        fd_config_free(&f->candidate);
        f->candidate = next;
        filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: %zu entries staged for adding by '%s'", added,
                  ds_call_actor(c));
        mpw_kv_uint(c->r, "added", added);
        mpw_kv_uint(c->r, "present", n - added);
        mpw_kv_uint(c->r, "count", f->candidate.list.n);
        mpw_kv_bool(c->r, "pending", !fd_config_equal(&f->running, &f->candidate));
        return 0;
}

static int h_filter_del(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        struct fd_config next = { 0 };
        struct fd_entry *v;
        size_t n;
        int r;

        r = parse_entries(c, ds_tb(c, DEL_ENTRIES), &v, &n);
        if (r < 0)
                return r;
        r = fd_config_copy(&next, &f->candidate);
        if (r < 0) {
                free(v);
                return ds_call_fail(c, r, NULL, "out of memory");
        }
        for (size_t i = 0; i < n && r == 0; i++)
                if (fd_list_del(&next.list, &v[i]) < 0) {
                        char field[32];
                        snprintf(field, sizeof field, "entries[%zu]", i);
                        r = ds_call_fail(c, -ENOENT, field, "'%s' is not in the list", v[i].text);
                }
        if (r == 0)
                r = guard(f, c, DEL_FORCE, &next, "entries");
        if (r == 0) {
                fd_config_free(&f->candidate);
                f->candidate = next;
                memset(&next, 0, sizeof next);
                filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
                log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: %zu entries staged for removal by '%s'",
                          n, ds_call_actor(c));
                mpw_kv_uint(c->r, "removed", n);
                mpw_kv_uint(c->r, "count", f->candidate.list.n);
                mpw_kv_bool(c->r, "pending", !fd_config_equal(&f->running, &f->candidate));
        }
        fd_config_free(&next);
        free(v);
        return r;
}

static int on_confirm_timeout(zloop_t *loop, int timer_id, void *arg)
{
        struct filterd *f = arg;
        struct ds_err e;

        (void)loop;
        (void)timer_id;
        f->confirm_timer = -1;
        if (!f->confirm_pending)
                return 0;
        ds_err_clear(&e);
        f->confirm_pending = false;
        if (filterd_enforce(f, &f->confirmed, &e) < 0) {
                log_err("filter: revert after an unconfirmed apply failed: %s", e.msg);
                return 0;
        }
        fd_config_free(&f->running);
        f->running = f->confirmed;
        memset(&f->confirmed, 0, sizeof f->confirmed);
        filterd_drop_confirm(f);
        log_audit("security", LOG_LVL_WARNING, f->confirm_by,
                  "filter: apply by '%s' not confirmed within %d s: previous filter restored", f->confirm_by,
                  f->confirm_within_s);
        publish_applied(f, f->confirm_by, "reverted");
        return 0;
}

void filterd_resume(struct filterd *f)
{
        int64_t left;

        if (f->reverted_at_start) {
                f->reverted_at_start = false;
                log_audit("security", LOG_LVL_WARNING, f->confirm_by,
                          "filter: apply by '%s' not confirmed before its deadline (passed while filterd was down): "
                          "previous filter restored", f->confirm_by);
                publish_applied(f, f->confirm_by, "reverted");
        }
        if (!f->confirm_pending)
                return;
        left = f->confirm_deadline_ms - ds_now_mono_ms();
        f->confirm_timer = zloop_timer(f->d->loop, left > 0 ? (size_t)left : 1, 1, on_confirm_timeout, f);
        log_notice("filter: apply by '%s' still awaits filter.confirm: %lld s left", f->confirm_by,
                   (long long)((left + 999) / 1000));
}

static int h_filter_apply(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        int64_t within = ds_tb_int(c, APPLY_CONFIRM_WITHIN, 0);
        struct fd_config next = { 0 }, old;
        int r;

        if (f->confirm_pending)
                return ds_call_fail(c, -EBUSY, NULL, "an apply by '%s' awaits filter.confirm (%lld s left)",
                                    f->confirm_by, (long long)((f->confirm_deadline_ms - ds_now_mono_ms()) / 1000));
        r = guard(f, c, APPLY_FORCE, &f->candidate, "mode");
        if (r < 0)
                return r;
        if (fd_config_copy(&next, &f->candidate) < 0)
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        if (within > 0) {
                /* the revert deadline outlives a crash or a stop: persisted before the kernel changes */
                f->confirm_within_s = (int)within;
                snprintf(f->confirm_by, sizeof f->confirm_by, "%s", ds_call_actor(c));
                if (filterd_save_confirm(f, &next, ds_now_real_ms() + within * 1000) < 0) {
                        fd_config_free(&next);
                        return ds_call_fail(c, -DS_EINTERNAL, NULL, "cannot persist the revert deadline");
                }
        }
        r = filterd_enforce(f, &next, &c->err);
        if (r < 0) {
                if (within > 0)
                        filterd_drop_confirm(f);
                fd_config_free(&next);
                return r;
        }
        old = f->running;
        f->running = next;
        if (within > 0) {
                /* the saved state stays the old one: a restart also reverts */
                fd_config_free(&f->confirmed);
                f->confirmed = old;
                f->confirm_pending = true;
                f->confirm_within_s = (int)within;
                f->confirm_deadline_ms = ds_now_mono_ms() + within * 1000;
                snprintf(f->confirm_by, sizeof f->confirm_by, "%s", ds_call_actor(c));
                f->confirm_timer = zloop_timer(f->d->loop, (size_t)within * 1000, 1, on_confirm_timeout, f);
        } else {
                fd_config_free(&old);
                filterd_save_config(f, FD_STATE_RUNNING, &f->running);
        }
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: mode %s with %zu entries applied by '%s'%s",
                  fd_mode_names[f->running.mode], f->running.list.n, ds_call_actor(c),
                  within > 0 ? " (to be confirmed)" : "");
        publish_applied(f, ds_call_actor(c), within > 0 ? "applied-unconfirmed" : "applied");
        mpw_kv_bool(c->r, "applied", true);
        mpw_kv_str(c->r, "mode", fd_mode_names[f->running.mode]);
        mpw_kv_uint(c->r, "count", f->running.list.n);
        mpw_kv_double(c->r, "apply_ms", f->last_apply_ms);
        mpw_kv_bool(c->r, "enforced", f->nft != NULL);
        if (within > 0)
                mpw_kv_int(c->r, "confirm_within", within);
        return 0;
}

static int h_filter_confirm(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;

        if (!f->confirm_pending)
                return ds_call_fail(c, -ENOENT, NULL, "no apply awaits confirmation");
        if (f->confirm_timer >= 0)
                zloop_timer_end(f->d->loop, f->confirm_timer);
        f->confirm_timer = -1;
        f->confirm_pending = false;
        fd_config_free(&f->confirmed);
        filterd_save_config(f, FD_STATE_RUNNING, &f->running);
        filterd_drop_confirm(f);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: apply confirmed by '%s'", ds_call_actor(c));
        publish_applied(f, ds_call_actor(c), "confirmed");
        mpw_kv_bool(c->r, "confirmed", true);
        mpw_kv_str(c->r, "mode", fd_mode_names[f->running.mode]);
        return 0;
}

static int h_filter_discard(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;

        if (fd_config_copy(&f->candidate, &f->running) < 0)
                return ds_call_fail(c, -ENOMEM, NULL, "out of memory");
        filterd_save_config(f, FD_STATE_CANDIDATE, &f->candidate);
        mpw_kv_bool(c->r, "pending", false);
        return 0;
}

static int h_filter_check(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        uint8_t fam = 0, ip[16], mfam, mac[16];
        struct fd_decision dec;
        char s[64];

        if (!ds_tb_has(c, CHECK_IP) && !ds_tb_has(c, CHECK_MAC))
                return ds_call_fail(c, -EINVAL, "ip", "give ip, mac or both");
        if (ds_tb_has(c, CHECK_IP) &&
            (ds_tb_str(c, CHECK_IP, s, sizeof s) < 0 || fd_addr_parse(s, &fam, ip) < 0 || fam == FD_MAC))
                return ds_call_fail(c, -EINVAL, "ip", "is not an IPv4 or IPv6 address");
        if (ds_tb_has(c, CHECK_MAC) &&
            (ds_tb_str(c, CHECK_MAC, s, sizeof s) < 0 || fd_addr_parse(s, &mfam, mac) < 0 || mfam != FD_MAC))
                return ds_call_fail(c, -EINVAL, "mac", "is not a MAC address aa:bb:cc:dd:ee:ff");
        fd_check(&f->running, &f->bans, ds_now_real_ms(), fam, ip, ds_tb_has(c, CHECK_MAC) ? mac : NULL, &dec);
        mpw_kv_str(c->r, "decision", dec.accept ? "accept" : "drop");
        mpw_kv_bool(c->r, "allowed", dec.accept);
        mpw_kv_str(c->r, "reason", dec.reason);
        mpw_kv_str(c->r, "matched", dec.matched);
        mpw_kv_str(c->r, "mode", fd_mode_names[f->running.mode]);
        return 0;
}

static int h_filter_status(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        struct fd_counters cnt = { 0 };
        char t[40];

        fd_bans_prune(&f->bans, ds_now_real_ms());
        mpw_kv_str(c->r, "mode", fd_mode_names[f->running.mode]);
        mpw_kv_bool(c->r, "enforced", f->nft != NULL);
        mpw_kv_uint(c->r, "entries", f->running.list.n);
        mpw_kv_uint(c->r, "bans", f->bans.n);
        mpw_kv_uint(c->r, "bans_refused", f->bans_refused);
        mpw_kv_uint(c->r, "ports", f->ports.n);
        mpw_kv_int(c->r, "max_connections", f->ports.max_connections);
        mpw_kv_bool(c->r, "pending", !fd_config_equal(&f->running, &f->candidate));
        mpw_kv_bool(c->r, "confirm_pending", f->confirm_pending);
        mpw_kv_uint(c->r, "applies", f->applies);
        mpw_kv_uint(c->r, "apply_failures", f->apply_failures);
        ds_format_time(f->last_apply_real_ms, t, sizeof t);
        mpw_kv_str(c->r, "last_apply", f->applies ? t : "");
        mpw_kv_double(c->r, "last_apply_ms", f->last_apply_ms);
        mpw_kv_str(c->r, "last_error", f->last_error);
        if (f->nft && fd_nft_counters(f->nft, &cnt) == 0) {
                fd_drops_sample(&f->drops, &cnt, ds_now_real_ms());
                mpw_str(c->r, "dropped_per_hour");
                fd_drops_write(&f->drops, c->r, ds_now_real_ms());
                mpw_str(c->r, "dropped");
                mpw_map_begin(c->r);
                for (int i = 0; i < FD_CNT_N; i++) {
                        mpw_str(c->r, fd_counter_names[i] + 5); /* "drop_ban4" -> "ban4" */
                        mpw_map_begin(c->r);
                        mpw_kv_uint(c->r, "packets", cnt.packets[i]);
                        mpw_kv_uint(c->r, "bytes", cnt.bytes[i]);
                        mpw_map_end(c->r);
                }
                mpw_map_end(c->r);
        }
        return 0;
}

static int h_filter_ruleset(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;

        mpw_str(c->r, "text");
        mpw_strn(c->r, f->ruleset ? f->ruleset : "", f->ruleset ? f->ruleset_len : 0);
        mpw_kv_bool(c->r, "enforced", f->nft != NULL);
        return 0;
}

/* ---- bans ------------------------------------------------------------------------------ */

int filterd_ban(struct filterd *f, uint8_t fam, const uint8_t *ip, int64_t until_ms, const char *actor,
                struct ds_err *e)
{
        const struct fd_ban *b;
        char text[64];
        int r;

        if (fd_management_has(ds_settings_str(&f->d->settings, "management"), fam, ip)) {
                fd_addr_format(fam, ip, text, sizeof text);
                f->bans_refused++;
                log_audit("security", LOG_LVL_WARNING, actor,
                          "filter: ban of management address %s requested by '%s' refused (%llu refused so far)",
                          text, actor, (unsigned long long)f->bans_refused);
                return ds_err_set(e, -EINVAL, "ip", "'%s' is a management address (setting 'management'): it is never banned",
                                  text);
        }
        r = fd_bans_add(&f->bans, fam, ip, until_ms);

        if (r == -ENOSPC)
                return ds_err_set(e, -EBUSY, NULL, "too many bans (at most %d)", FD_MAX_BANS);
        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot add the ban");
        b = fd_bans_find(&f->bans, fam, ip, ds_now_real_ms());
        if (b && f->nft && fd_nft_ban(f->nft, b, ds_now_real_ms(), true) < 0) {
                fd_bans_del(&f->bans, fam, ip);
                return ds_err_set(e, -DS_EINTERNAL, NULL, "nftables refused the ban");
        }
        filterd_save_bans(f);
        log_audit("security", LOG_LVL_NOTICE, actor, "filter: %s banned for %lld s by '%s'", b ? b->text : "?",
                  (long long)((until_ms - ds_now_real_ms() + 999) / 1000), actor);
        return 0;
}

static int h_ban_add(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        int64_t s = ds_tb_int(c, BAN_ADD_SECONDS, 0), until = ds_now_real_ms() + s * 1000;
        uint8_t fam, ip[16];
        char text[64], t[40];
        int r;

        ds_tb_str(c, BAN_ADD_IP, text, sizeof text);
        if (fd_addr_parse(text, &fam, ip) < 0 || fam == FD_MAC)
                return ds_call_fail(c, -EINVAL, "ip", "'%s' is not an IPv4 or IPv6 address", text);
        r = filterd_ban(f, fam, ip, until, ds_call_actor(c), &c->err);
        if (r < 0)
                return r;
        fd_addr_format(fam, ip, text, sizeof text);
        ds_format_time(until, t, sizeof t);
        mpw_kv_str(c->r, "ip", text);
        mpw_kv_int(c->r, "seconds", s);
        mpw_kv_str(c->r, "until", t);
        return 0;
}

static int h_ban_list(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        int64_t now = ds_now_real_ms();
        char t[40];

        fd_bans_prune(&f->bans, now);
        mpw_str(c->r, "bans");
        mpw_arr_begin(c->r);
        for (size_t i = 0; i < f->bans.n; i++) {
                ds_format_time(f->bans.v[i].until_ms, t, sizeof t);
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "ip", f->bans.v[i].text);
                mpw_kv_str(c->r, "until", t);
                mpw_kv_int(c->r, "remaining_s", (f->bans.v[i].until_ms - now + 999) / 1000);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static int h_ban_del(void *ctx, struct ds_call *c)
{
        struct filterd *f = ctx;
        uint8_t fam, ip[16];
        struct fd_ban b = { 0 };
        char text[64];

        ds_tb_str(c, BAN_DEL_IP, text, sizeof text);
        if (fd_addr_parse(text, &fam, ip) < 0 || fam == FD_MAC)
                return ds_call_fail(c, -EINVAL, "ip", "'%s' is not an IPv4 or IPv6 address", text);
        fd_bans_prune(&f->bans, ds_now_real_ms());
        if (fd_bans_del(&f->bans, fam, ip) < 0)
                return ds_call_fail(c, -ENOENT, "ip", "'%s' is not banned", text);
        b.fam = fam;
        memcpy(b.addr, ip, 16);
        fd_addr_format(fam, ip, b.text, sizeof b.text);
        if (f->nft && fd_nft_ban(f->nft, &b, ds_now_real_ms(), false) < 0)
                log_warn("nftables: cannot remove the ban of '%s'", b.text);
        filterd_save_bans(f);
        log_audit("security", LOG_LVL_NOTICE, ds_call_actor(c), "filter: ban of %s lifted by '%s'", b.text,
                  ds_call_actor(c));
        mpw_kv_str(c->r, "ip", b.text);
        mpw_kv_bool(c->r, "removed", true);
        return 0;
}

int filterd_prune(zloop_t *loop, int timer_id, void *arg)
{
        struct filterd *f = arg;

        (void)loop;
        (void)timer_id;
        /* the kernel expires its elements by itself; this keeps our copy in step */
        if (fd_bans_prune(&f->bans, ds_now_real_ms()) > 0)
                filterd_save_bans(f);
        if (f->nft && ++f->prune_ticks % 12 == 0) { /* every minute: the hour's drops */
                struct fd_counters cnt = { 0 };
                if (fd_nft_counters(f->nft, &cnt) == 0)
                        fd_drops_sample(&f->drops, &cnt, ds_now_real_ms());
        }
        return 0;
}

/* ---- the service contract -------------------------------------------------------------------------- */

static const struct ds_field entry_item = { NULL, DS_STR, 0, .max_len = FD_ENTRY_TEXT };
static const struct ds_field show_args[] = {
        [SHOW_BRIEF] = { "brief", DS_BOOL, 0, .help = "counts only, no entries" },
        [SHOW_OFFSET] = { "offset", DS_INT, 0, .min = 0, .max = FD_MAX_ENTRIES, .help = "first entry to list" },
        [SHOW_LIMIT] = { "limit", DS_INT, 0, .min = 1, .max = FD_MAX_ENTRIES, .help = "entries to list (default 100)" },
        { NULL },
};
static const char *const modes[] = { "off", "allow", "deny", NULL };
static const struct ds_field mode_args[] = {
        [MODE_MODE] = { "mode", DS_STR, DS_REQUIRED, .enums = modes },
        [MODE_FORCE] = { "force", DS_BOOL, 0, .help = "skip the self-lockout guard" },
        { NULL },
};
static const struct ds_field add_args[] = {
        [ADD_ENTRIES] = { "entries", DS_ARRAY, DS_REQUIRED, .min_len = 1, .max_len = FD_MAX_ENTRIES, .sub = &entry_item },
        [ADD_FORCE] = { "force", DS_BOOL, 0, .help = "skip the self-lockout guard (deny mode)" },
        { NULL },
};
static const struct ds_field del_args[] = {
        [DEL_ENTRIES] = { "entries", DS_ARRAY, DS_REQUIRED, .min_len = 1, .max_len = FD_MAX_ENTRIES, .sub = &entry_item },
        [DEL_FORCE] = { "force", DS_BOOL, 0 },
        { NULL },
};
static const struct ds_field apply_args[] = {
        [APPLY_CONFIRM_WITHIN] = { "confirm_within", DS_INT, 0, .min = 0, .max = 3600, .help = "seconds before an unconfirmed apply reverts" },
        [APPLY_FORCE] = { "force", DS_BOOL, 0 },
        { NULL },
};
static const struct ds_field check_args[] = {
        [CHECK_IP] = { "ip", DS_STR, 0, .max_len = 64 },
        [CHECK_MAC] = { "mac", DS_STR, 0, .max_len = 32 },
        { NULL },
};
static const struct ds_field ban_add_args[] = {
        [BAN_ADD_IP] = { "ip", DS_STR, DS_REQUIRED, .max_len = 64 },
        [BAN_ADD_SECONDS] = { "seconds", DS_INT, DS_REQUIRED, .min = 1, .max = FD_BAN_MAX_S },
        { NULL },
};
static const struct ds_field ban_del_args[] = {
        [BAN_DEL_IP] = { "ip", DS_STR, DS_REQUIRED, .max_len = 64 },
        { NULL },
};

const struct ds_method filterd_methods[] = {
        DS_METHOD("filter.show", show_args, h_filter_show, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("filter.mode", mode_args, h_filter_mode, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.add", add_args, h_filter_add, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.del", del_args, h_filter_del, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.apply", apply_args, h_filter_apply, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.confirm", NULL, h_filter_confirm, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.discard", NULL, h_filter_discard, AUTH_NEEDS(SECURITY)),
        DS_METHOD("filter.check", check_args, h_filter_check, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("filter.status", NULL, h_filter_status, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("filter.ruleset", NULL, h_filter_ruleset, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("ban.add", ban_add_args, h_ban_add, AUTH_NEEDS(SECURITY)),
        DS_METHOD("ban.list", NULL, h_ban_list, AUTH_NEEDS(SYSTEM_INFO)),
        DS_METHOD("ban.del", ban_del_args, h_ban_del, AUTH_NEEDS(SECURITY)),
        { NULL },
};

const struct ds_field filterd_settings[] = {
        { "management", DS_STR, 0, .max_len = 1024, .def_str = "",
          .help = "addresses whose presence in an allow list satisfies the self-lockout guard (comma separated)" },
        { "ban_seconds", DS_INT, 0, .min = 1, .max = FD_BAN_MAX_S, .def_int = 300,
          .help = "ban length for auth.locked events without an end time" },
        { NULL },
};

static enum ds_audit_result check_enabled(void *ctx, char *detail, size_t size)
{
        struct filterd *f = ctx;

        snprintf(detail, size, "mode %s, %zu entries", fd_mode_names[f->running.mode], f->running.list.n);
        return f->running.mode == FD_MODE_OFF ? DS_AUDIT_FAIL : DS_AUDIT_PASS;
}

static enum ds_audit_result check_enforced(void *ctx, char *detail, size_t size)
{
        struct filterd *f = ctx;

        if (!f->nft) {
                snprintf(detail, size, "dry run: the ruleset is only rendered");
                return DS_AUDIT_NA;
        }
        snprintf(detail, size, "%s", f->last_error[0] ? f->last_error : "table inet devsec loaded");
        return f->applies && !f->last_error[0] ? DS_AUDIT_PASS : DS_AUDIT_FAIL;
}

const struct ds_audit_item filterd_audit[] = {
        { .id = "filter.enforced", .level = 1, .title = "the filter ruleset is loaded in the kernel",
          .remediation = "run filterd with CAP_NET_ADMIN; see its log", .check = check_enforced },
        { .id = "filter.enabled", .level = 2, .title = "IP/MAC filter in allow or deny mode",
          .remediation = "devctl filter add ADDRESS...; devctl filter mode allow; devctl filter apply --confirm-within 120",
          .check = check_enabled },
        { NULL },
};

int filterd_apply_settings(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        return filterd_check_settings(d, ctx, &d->settings, e);
}

void filterd_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct filterd *f = ctx;

        (void)d;
        mpw_kv_str(w, "filter_mode", fd_mode_names[f->running.mode]);
        mpw_kv_bool(w, "enforced", f->nft != NULL);
}

