/* nvr.c - the NVR role: each camera's presence on the bus (busd's
 * bus.service.up/down and a ping that fails with EUNAVAIL or times out), the
 * outage intervals it opens and closes (persisted atomically in <state>/intervals,
 * merged when the link flaps), the scheduler that fills them oldest first,
 * and anr.status / anr.intervals / anr.retry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anr.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_FILE "intervals"
#define STATE_MAX (4u << 20)

struct anr_cam *anr_nvr_find(struct anr_ctx *x, const char *id)
{
        for (unsigned i = 0; i < x->n_cams; i++)
                if (!strcmp(x->cams[i].id, id))
                        return &x->cams[i];
        return NULL;
}

static void iv_write(struct mpw *w, const struct anr_interval *iv)
{
        mpw_map_begin(w);
        mpw_kv_int(w, "o", iv->opened_ms);
        mpw_kv_int(w, "c", iv->closed_ms);
        mpw_kv_int(w, "skew", iv->skew_ms);
        mpw_kv_int(w, "st", iv->state);
        mpw_kv_uint(w, "flaps", iv->flaps);
        mpw_kv_uint(w, "bt", iv->bytes_total);
        mpw_kv_uint(w, "bd", iv->bytes_done);
        mpw_kv_uint(w, "nt", iv->segs_total);
        mpw_kv_uint(w, "nd", iv->segs_done);
        mpw_kv_uint(w, "ns", iv->segs_skipped);
        mpw_kv_uint(w, "nf", iv->segs_failed);
        mpw_kv_int(w, "miss", iv->missing_ms);
        mpw_kv_int(w, "fs", iv->fill_start_ms);
        mpw_kv_int(w, "fe", iv->fill_end_ms);
        mpw_kv_str(w, "why", iv->reason);
        mpw_map_end(w);
}

int anr_nvr_save(struct anr_ctx *x)
{
        struct mpw w;
        int r;

        mpw_init(&w);
        mpw_map_begin(&w);
        for (unsigned i = 0; i < x->n_cams; i++) {
                struct anr_cam *c = &x->cams[i];
                mpw_str(&w, c->id);
                mpw_map_begin(&w);
                if (c->pk_pinned) {
                        mpw_str(&w, "pk");
                        mpw_bin(&w, c->pk, sizeof c->pk);
                }
                mpw_kv_int(&w, "seen", c->last_seen_ms);
                mpw_kv_int(&w, "skew", c->skew_ms);
                mpw_str(&w, "iv");
                mpw_arr_begin(&w);
                for (unsigned k = 0; k < c->n_iv; k++)
                        iv_write(&w, &c->iv[k]);
                mpw_arr_end(&w);
                mpw_map_end(&w);
        }
        mpw_map_end(&w);
        r = mpw_finish(&w) < 0 ? -EINVAL : ds_daemon_save(x->d, STATE_FILE, mpw_data(&w), mpw_len(&w));
        mpw_free(&w);
        x->dirty = false;
        x->saved_ms = ds_now_mono_ms();
        if (r < 0)
                log_errno(r, "saving the outage intervals: %m");
        return r;
}

static void load_cam(struct anr_cam *c, const msgpack_object *m)
{
        const msgpack_object *pk = mp_get(m, "pk"), *iv = mp_get(m, "iv");
        size_t n;

        if (!c->have_pk && pk && pk->type == MSGPACK_OBJECT_BIN && pk->via.bin.size == sizeof c->pk) {
                memcpy(c->pk, pk->via.bin.ptr, sizeof c->pk);
                c->have_pk = c->pk_pinned = true;
        }
        c->last_seen_ms = mp_get_int(m, "seen", 0);
        c->skew_ms = mp_get_int(m, "skew", 0);
        if (!iv || iv->type != MSGPACK_OBJECT_ARRAY)
                return;
        for (uint32_t k = 0; k < iv->via.array.size && c->n_iv < ANR_MAX_INTERVALS; k++) {
                const msgpack_object *o = &iv->via.array.ptr[k];
                struct anr_interval *v = &c->iv[c->n_iv];
                int64_t st = mp_get_int(o, "st", -1);
                const char *why;

                if (o->type != MSGPACK_OBJECT_MAP || st < ANR_I_OPEN || st > ANR_I_FAILED)
                        continue;
                memset(v, 0, sizeof *v);
                v->opened_ms = mp_get_int(o, "o", 0);
                v->closed_ms = mp_get_int(o, "c", 0);
                v->skew_ms = mp_get_int(o, "skew", 0);
                /* a fill cut short by a restart starts again, from its partial files */
                v->state = st == ANR_I_FETCHING ? ANR_I_PENDING : (enum anr_istate)st;
                v->flaps = (uint32_t)mp_get_int(o, "flaps", 0);
                v->bytes_total = (uint64_t)mp_get_int(o, "bt", 0);
                v->bytes_done = (uint64_t)mp_get_int(o, "bd", 0);
                v->segs_total = (uint32_t)mp_get_int(o, "nt", 0);
                v->segs_done = (uint32_t)mp_get_int(o, "nd", 0);
                v->segs_skipped = (uint32_t)mp_get_int(o, "ns", 0);
                v->segs_failed = (uint32_t)mp_get_int(o, "nf", 0);
                v->missing_ms = mp_get_int(o, "miss", 0);
                v->fill_start_ms = mp_get_int(o, "fs", 0);
                v->fill_end_ms = mp_get_int(o, "fe", 0);
                if ((why = mp_get_strn(o, "why", &n)))
                        snprintf(v->reason, sizeof v->reason, "%.*s", (int)n, why);
                if (v->opened_ms > 0)
                        c->n_iv++;
        }
}

static int load_state(struct anr_ctx *x)
{
        struct mp_limits lim = mp_limits_default;
        struct state_mp m;
        int r;

        lim.max_msg = STATE_MAX;
        r = state_read_mp(x->d->statedir, STATE_FILE, STATE_MAX, &lim, &m);
        if (r < 0) {
                if (m.why)
                        log_errno(r, "outage intervals '%s/%s': %s", x->d->statedir, STATE_FILE, m.why);
                else if (r != -ENOENT)
                        log_errno(r, "outage intervals '%s/%s': %m", x->d->statedir, STATE_FILE);
                state_mp_free(&m);
                return r == -ENOENT ? 0 : r;
        }
        if (m.u.data.type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < m.u.data.via.map.size; i++) {
                        const msgpack_object_kv *kv = &m.u.data.via.map.ptr[i];
                        char id[ANR_CAM_MAX + 1];
                        struct anr_cam *c;
                        if (mp_strcpy(&kv->key, id, sizeof id) == 0 && (c = anr_nvr_find(x, id)))
                                load_cam(c, &kv->val);
                }
        state_mp_free(&m);
        return 0;
}

static void write_iv_event(struct mpw *w, struct anr_cam *c, const struct anr_interval *iv)
{
        char t[32];

        mpw_kv_str(w, "camera", c->id);
        mpw_kv_int(w, "channel", c->channel);
        ds_format_time(iv->opened_ms, t, sizeof t);
        mpw_kv_str(w, "start", t);
        mpw_kv_int(w, "start_ms", iv->opened_ms);
        if (iv->closed_ms) {
                ds_format_time(iv->closed_ms, t, sizeof t);
                mpw_kv_str(w, "end", t);
                mpw_kv_int(w, "end_ms", iv->closed_ms);
                mpw_kv_int(w, "duration_s", (iv->closed_ms - iv->opened_ms + 500) / 1000);
        }
        mpw_kv_str(w, "state", anr_istate_names[iv->state]);
        mpw_kv_uint(w, "flaps", iv->flaps);
        mpw_kv_uint(w, "segments", iv->segs_total);
        mpw_kv_uint(w, "stored", iv->segs_done);
        mpw_kv_uint(w, "skipped", iv->segs_skipped);
        mpw_kv_uint(w, "failed", iv->segs_failed);
        mpw_kv_uint(w, "bytes", iv->bytes_total);
        mpw_kv_uint(w, "bytes_done", iv->bytes_done);
        mpw_kv_int(w, "missing_s", (iv->missing_ms + 999) / 1000);
        mpw_kv_int(w, "skew_ms", iv->skew_ms);
        mpw_kv_int(w, "fill_start_ms", iv->fill_start_ms);
        mpw_kv_int(w, "fill_end_ms", iv->fill_end_ms);
        mpw_kv_str(w, "reason", iv->reason);
}

void anr_nvr_publish(struct anr_ctx *x, const char *topic, struct anr_cam *c, const struct anr_interval *iv)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        write_iv_event(&w, c, iv);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, topic, &w);
        mpw_free(&w);
}

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
        anr_nvr_save(x);
        anr_nvr_publish(x, "anr.outage.opened", c, iv);
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
        anr_nvr_save(x);
        anr_nvr_publish(x, "anr.outage.closed", c, iv);
        anr_nvr_kick(x);
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
                anr_nvr_save(c->x);
                anr_nvr_kick(c->x);
        }
}

static void on_ping(void *ud, const struct bus_reply *rep)
{
        struct anr_cam *c = ud;
        int64_t now = ds_now_real_ms(), cam_now;

        c->ping_inflight = false;
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

/* oldest outage first, as many cameras at a time as parallel allows */
void anr_nvr_kick(struct anr_ctx *x)
{
        int64_t now = ds_now_real_ms();
        unsigned busy;

        anr_fetch_busy(x, &busy);
        while (busy < x->parallel) {
                struct anr_cam *best = NULL;
                struct anr_interval *biv = NULL;
                for (unsigned i = 0; i < x->n_cams; i++) {
                        struct anr_cam *c = &x->cams[i];
                        if (!c->up || c->job || !c->have_pk)
                                continue;
                        for (unsigned k = 0; k < c->n_iv; k++) {
                                struct anr_interval *iv = &c->iv[k];
                                /* the segments that cover the widened end close after it */
                                if (iv->state != ANR_I_PENDING || now < iv->closed_ms + x->pre_record_ms + 2000)
                                        continue;
                                if (!biv || iv->opened_ms < biv->opened_ms) {
                                        best = c;
                                        biv = iv;
                                }
                                break;
                        }
                }
                if (!best || anr_fetch_start(x, best, biv) < 0)
                        return;
                busy++;
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
                anr_nvr_save(x);
        anr_nvr_kick(x);
        return 0;
}

int anr_nvr_init(struct anr_ctx *x)
{
        int r;

        if ((r = state_mkdir_p(x->store_dir, 0750)) < 0)
                return log_errno(r, "store '%s': %m", x->store_dir);
        return load_state(x);
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
        anr_nvr_save(x);
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
        if (!(k = anr_nvr_find(x, id)))
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
                write_iv_event(c->r, k, &k->iv[j]);
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
                anr_nvr_save(x);
                log_audit("operation", LOG_LVL_NOTICE, ds_call_actor(c), "'%s' asked to fill %u interval(s) of camera '%s' again",
                          ds_call_actor(c), n, k->id);
        }
        mpw_kv_uint(c->r, "retried", n);
        anr_nvr_kick(x);
        return 0;
}
