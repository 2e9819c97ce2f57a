/* outage.c - the record of the NVR role's outage intervals: per camera, its
 * pinned key, when it was last seen and its intervals, persisted atomically in
 * <state>/intervals and read back at start-up; and an interval as the map that
 * anr.outage.*, anr.filled / anr.failed and anr.intervals carry. Below nvr.c
 * (presence, the methods) and fetch.c (the fills, the scheduler). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "anr.h"
#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_FILE "intervals"
#define STATE_MAX (4u << 20)

struct anr_cam *anr_cam_find(struct anr_ctx *x, const char *id)
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

int anr_outage_save(struct anr_ctx *x)
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

int anr_outage_load(struct anr_ctx *x)
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
                        if (mp_strcpy(&kv->key, id, sizeof id) == 0 && (c = anr_cam_find(x, id)))
                                load_cam(c, &kv->val);
                }
        state_mp_free(&m);
        return 0;
}

void anr_outage_write(struct mpw *w, struct anr_cam *c, const struct anr_interval *iv)
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

void anr_outage_publish(struct anr_ctx *x, const char *topic, struct anr_cam *c, const struct anr_interval *iv)
{
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        anr_outage_write(&w, c, iv);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, topic, &w);
        mpw_free(&w);
}
