/* nvr.c - the NVR role: each camera's presence on the bus (busd's
 * bus.service.up/down and a ping that fails with EUNAVAIL or times out), the
 * outage intervals it opens and closes (merged when the link flaps; their
 * record is outage.c's, the fills and their scheduler fetch.c's), and
 * anr.status / anr.intervals / anr.retry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anr.h"
#include "log.h"
#include "state.h"
#include "util.h"

static void link_down(struct anr_cam *c, const char *why)
{
        struct anr_ctx *x = c->x;
        struct anr_interval *iv;
        bool merged;

        if (!c->up && c->known)
                return;
        c->known = true;
        c->up = false;
        if (c->job)
                anr_fetch_abort(c, "the link was lost");
        if (anr_intervals_current(c->iv, c->n_iv)) { /* kept open across a restart */
                log_notice("camera '%s' still not reachable (%s): its outage stays open", c->id, why);
                return;
        }
        if (!c->last_seen_ms) { /* never seen: nothing recorded is ours to miss yet */
                log_notice("camera '%s' not reachable (%s)", c->id, why);
                return;
        }
        iv = anr_intervals_open(c->iv, &c->n_iv, ANR_MAX_INTERVALS, c->last_seen_ms, x->merge_ms, &merged);
        if (!iv) {
                log_err("camera '%s': %u unfinished outage intervals, this one is not recorded", c->id, c->n_iv);
                return;
        }
        if (merged)
                log_notice("camera '%s': link lost again (%s), merged into the outage since its start (%u flaps)",
                           c->id, why, iv->flaps);
        else
                log_notice("camera '%s': link lost (%s), outage interval opened", c->id, why);
        anr_outage_save(x);
        anr_outage_publish(x, "anr.outage.opened", c, iv);
}

static void link_up(struct anr_cam *c, int64_t skew_ms)
{
        struct anr_ctx *x = c->x;
        struct anr_interval *iv = anr_intervals_current(c->iv, c->n_iv);
        int64_t now = ds_now_real_ms();

        bool was = c->up;
        c->up = c->known = true;
        c->last_seen_ms = now;
        c->skew_ms = skew_ms;
        if (skew_ms > x->max_skew_ms || -skew_ms > x->max_skew_ms)
                log_warn("camera '%s': clock off by %lld ms from the NVR's: intervals matched with the skew", c->id,
                         (long long)skew_ms);
        if (!iv) {
                if (!was)
                        log_notice("camera '%s' reachable", c->id);
                return;
        }
        iv->closed_ms = now;
        iv->skew_ms = skew_ms;
        iv->state = ANR_I_PENDING;
        log_notice("camera '%s': link back after %lld s, outage interval closed", c->id,
                   (long long)((now - iv->opened_ms) / 1000));
        anr_outage_save(x);
        anr_outage_publish(x, "anr.outage.closed", c, iv);
        anr_fetch_kick(x);
}

static void on_key(void *ud, const struct bus_reply *rep)
{
        struct anr_cam *c = ud;
        size_t n;
        const char *hex;

        c->key_inflight = false;
        if (rep->code || c->have_pk)
                return;
        hex = mp_get_strn(rep->r, "public_key", &n);
        if (hex && anr_hex_decode(hex, n, c->pk, sizeof c->pk) == 0) {
                c->have_pk = c->pk_pinned = true;
                log_audit("security", LOG_LVL_NOTICE, NULL,
                          "camera '%s': device key %.*s pinned at first contact (set public_key to fix it)", c->id,
                          (int)n, hex);
                anr_outage_save(c->x);
                anr_fetch_kick(c->x);
        }
}

static void on_ping(void *ud, const struct bus_reply *rep)
{
        struct anr_cam *c = ud;
        int64_t now = ds_now_real_ms(), cam_now;

        c->ping_inflight = false;
        if (c->x->d->stopping)
                return; /* answered by our own stop, not by the camera */
        if (rep->code == -DS_EUNAVAIL || rep->code == -ETIMEDOUT || rep->code == -DS_EDISABLED) {
                link_down(c, rep->code == -ETIMEDOUT ? "ping timed out" : ds_err_name(rep->code));
                return;
        }
        if (rep->code) {
                log_warn("camera '%s': ping: %s", c->id, rep->err.msg);
                return;
        }
        cam_now = mp_get_int(rep->r, "now_ms", 0);
        link_up(c, cam_now ? cam_now - (c->ping_sent_ms + now) / 2 : 0);
        if (!c->have_pk && !c->key_inflight &&
            bus_call(c->x->d->bus, c->svc, "anr.key", NULL, NULL, 5000, on_key, c) == 0)
                c->key_inflight = true;
}

static void ping(struct anr_cam *c)
{
        struct anr_ctx *x = c->x;

        if (c->ping_inflight)
                return;
        c->ping_sent_ms = ds_now_real_ms();
        if (bus_call(x->d->bus, c->svc, "sys.ping", NULL, NULL, (int)(x->ping_ms * 3 / 2), on_ping, c) == 0)
                c->ping_inflight = true;
}

static void on_service(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data)
{
        struct anr_ctx *x = ud;
        char svc[BUS_NAME_MAX + 1];

        (void)ts_ms;
        if (strcmp(src, "busd") || mp_strcpy(mp_get(data, "service"), svc, sizeof svc) < 0)
                return;
        for (unsigned i = 0; i < x->n_cams; i++) {
                struct anr_cam *c = &x->cams[i];
                if (strcmp(c->svc, svc))
                        continue;
                /* either way the camera's answer decides: a reconnecting
                 * camera's old registration may be dropped after its new one */
                (void)topic;
                ping(c);
        }
}

static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
        struct anr_ctx *x = arg;
        int64_t now = ds_now_real_ms();

        (void)loop;
        (void)timer_id;
        for (unsigned i = 0; i < x->n_cams; i++) {
                struct anr_cam *c = &x->cams[i];
                if (!c->ping_inflight && now - c->ping_sent_ms >= x->ping_ms)
                        ping(c);
        }
        if (x->dirty && ds_now_mono_ms() - x->saved_ms >= 1000)
                anr_outage_save(x);
        anr_fetch_kick(x);
        return 0;
}

int anr_nvr_init(struct anr_ctx *x)
{
        int r;

        if ((r = state_mkdir_p(x->store_dir, 0750)) < 0)
                return log_errno(r, "store '%s': %m", x->store_dir);
        return anr_outage_load(x);
}

int anr_nvr_start(struct anr_ctx *x)
{
        int r = bus_subscribe(x->d->bus, "bus.service.", on_service, x);

        if (r < 0)
                return r;
        x->tick_timer = zloop_timer(x->d->loop, 250, 0, on_tick, x);
        for (unsigned i = 0; i < x->n_cams; i++)
                ping(&x->cams[i]);
        return x->tick_timer < 0 ? -ENOMEM : 0;
}

void anr_nvr_stop(struct anr_ctx *x)
{
        for (unsigned i = 0; i < x->n_cams; i++)
                if (x->cams[i].job)
                        anr_fetch_abort(&x->cams[i], "stopping");
        anr_outage_save(x);
}

/* ---- methods ------------------------------------------------------------------ */

static void progress_bar(uint64_t done, uint64_t total, char *buf, size_t size)
{
        unsigned pct = total ? (unsigned)(done * 100 / total) : 100, k = pct / 10;
        char bar[11];

        for (unsigned i = 0; i < 10; i++)
                bar[i] = i < k ? '#' : '.';
        bar[10] = 0;
        snprintf(buf, size, "[%s] %u%%", bar, pct);
}

int h_anr_status(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        char t[32], bar[24];

        mpw_kv_str(c->r, "role", x->camera_role ? "camera" : "nvr");
        if (x->camera_role) {
                anr_camera_status(x, c->r);
                return 0;
        }
        mpw_str(c->r, "cameras");
        mpw_arr_begin(c->r);
        for (unsigned i = 0; i < x->n_cams; i++) {
                struct anr_cam *k = &x->cams[i];
                struct anr_interval *open = anr_intervals_current(k->iv, k->n_iv);
                uint64_t todo = 0, done = 0;
                unsigned pending = 0;
                for (unsigned j = 0; j < k->n_iv; j++)
                        if (k->iv[j].state == ANR_I_PENDING || k->iv[j].state == ANR_I_FETCHING) {
                                todo += k->iv[j].bytes_total;
                                done += k->iv[j].bytes_done;
                                pending++;
                        }
                mpw_map_begin(c->r);
                mpw_kv_str(c->r, "camera", k->id);
                mpw_kv_int(c->r, "channel", k->channel);
                mpw_kv_str(c->r, "link", !k->known ? "unknown" : k->up ? "up" : "down");
                if (open)
                        ds_format_time(open->opened_ms, t, sizeof t);
                mpw_kv_str(c->r, "open_since", open ? t : "");
                mpw_kv_uint(c->r, "to_fill", pending);
                mpw_kv_uint(c->r, "bytes_to_fetch", todo - done);
                progress_bar(done, todo, bar, sizeof bar);
                mpw_kv_str(c->r, "progress", pending ? bar : "");
                mpw_kv_str(c->r, "fetching", k->job ? "yes" : "no");
                mpw_kv_int(c->r, "skew_ms", k->skew_ms);
                mpw_kv_str(c->r, "key", !k->have_pk ? "none" : k->pk_pinned ? "pinned" : "configured");
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

static struct anr_cam *arg_cam(struct anr_ctx *x, struct ds_call *c)
{
        char id[ANR_CAM_MAX + 1];
        struct anr_cam *k;

        if (x->camera_role) {
                ds_call_fail(c, -ENOENT, NULL, "%s is served by the NVR role", c->m->name);
                return NULL;
        }
        ds_tb_str(c, ANR_CAMERA_CAMERA, id, sizeof id);
        if (!(k = anr_cam_find(x, id)))
                ds_call_fail(c, -ENOENT, "camera", "no camera '%s' in the cameras list", id);
        return k;
}

int h_anr_intervals(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        struct anr_cam *k = arg_cam(x, c);

        if (!k)
                return c->err.code;
        mpw_kv_str(c->r, "camera", k->id);
        mpw_str(c->r, "intervals");
        mpw_arr_begin(c->r);
        for (unsigned j = 0; j < k->n_iv; j++) {
                mpw_map_begin(c->r);
                anr_outage_write(c->r, k, &k->iv[j]);
                mpw_map_end(c->r);
        }
        mpw_arr_end(c->r);
        return 0;
}

int h_anr_retry(void *ctx, struct ds_call *c)
{
        struct anr_ctx *x = ctx;
        struct anr_cam *k = arg_cam(x, c);
        unsigned n = 0;

        if (!k)
                return c->err.code;
        for (unsigned j = 0; j < k->n_iv; j++) {
                struct anr_interval *iv = &k->iv[j];
                if (iv->state != ANR_I_FAILED && iv->state != ANR_I_PARTIAL)
                        continue;
                iv->state = ANR_I_PENDING;
                iv->reason[0] = 0;
                n++;
        }
        if (n) {
                anr_outage_save(x);
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "'%s' asked to fill %u interval(s) of camera '%s' again",
                          ds_call_actor(c), n, k->id);
        }
        mpw_kv_uint(c->r, "retried", n);
        anr_fetch_kick(x);
        return 0;
}
