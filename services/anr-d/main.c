/* anr-d - automatic network resume. main.c: the service, its settings and
 * hooks; camera.c the camera role; nvr.c, fetch.c and outage.c (the
 * intervals' record and events) the NVR role; index.c the pure logic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "anr.h"
#include "log.h"
#include "state.h"
#include "util.h"

static const char *const topics[] = { "anr.outage.opened", "anr.outage.closed", "anr.filled", "anr.failed",
                                      "log.system", "log.security", "log.operation", NULL };

static struct ds_service anr_service;

/* the structural settings, fixed for the life of the process */
struct anr_shape {
        bool camera;
        char camera_id[ANR_CAM_MAX + 1];
        struct mpw cams;
};
static struct anr_shape shape;

static void write_shape(const struct ds_settings *s, struct mpw *w)
{
        mpw_init(w);
        mpw_obj(w, ds_settings_get(s, "cameras"));
        mpw_str(w, ds_settings_str(s, "role"));
        mpw_str(w, ds_settings_str(s, "camera_id"));
        mpw_str(w, ds_settings_str(s, "recordings_dir"));
        mpw_str(w, ds_settings_str(s, "store_dir"));
}

static int check_cameras(const msgpack_object *cams, struct ds_err *e)
{
        if (!cams || cams->type != MSGPACK_OBJECT_ARRAY)
                return 0;
        for (uint32_t i = 0; i < cams->via.array.size; i++) {
                size_t n1, n2;
                const char *a = mp_get_strn(&cams->via.array.ptr[i], "id", &n1);
                for (uint32_t k = 0; k < i; k++) {
                        const char *b = mp_get_strn(&cams->via.array.ptr[k], "id", &n2);
                        if (a && b && n1 == n2 && !memcmp(a, b, n1))
                                return ds_err_set(e, -EINVAL, "cameras", "camera '%.*s' listed twice", (int)n1, a);
                }
        }
        return 0;
}

static int load_cameras(struct anr_ctx *x, const struct ds_settings *s)
{
        const msgpack_object *cams = ds_settings_get(s, "cameras");
        uint32_t n = cams && cams->type == MSGPACK_OBJECT_ARRAY ? cams->via.array.size : 0;

        x->cams = n ? calloc(n, sizeof *x->cams) : NULL;
        if (n && !x->cams)
                return -ENOMEM;
        x->n_cams = n;
        for (uint32_t i = 0; i < n; i++) {
                const msgpack_object *m = &cams->via.array.ptr[i];
                struct anr_cam *c = &x->cams[i];
                size_t len;
                const char *pk = mp_get_strn(m, "public_key", &len);

                c->x = x;
                mp_strcpy(mp_get(m, "id"), c->id, sizeof c->id);
                snprintf(c->svc, sizeof c->svc, "anr-d-%s", c->id);
                c->channel = mp_get_int(m, "channel", (int64_t)i + 1);
                c->rate_Bps = (uint64_t)mp_get_int(m, "max_rate_kbps", 0) * 1000 / 8;
                if (pk && len && anr_hex_decode(pk, len, c->pk, sizeof c->pk) == 0)
                        c->have_pk = true;
        }
        return 0;
}

/* Every refusal of apply, so check_settings (a two-phase import's prepare)
 * runs it alone; ret_shape (may be NULL) gets the structural settings. */
static int check_from(struct anr_ctx *x, const struct ds_settings *s, struct mpw *ret_shape, struct ds_err *e)
{
        bool camera = !strcmp(ds_settings_str(s, "role"), "camera");
        const char *id = ds_settings_str(s, "camera_id"), *rd = ds_settings_str(s, "recordings_dir");
        const char *sd = ds_settings_str(s, "store_dir");
        struct mpw w;
        int r;

        if (camera && anr_camera_id_check(id, strlen(id)))
                return ds_err_set(e, -EINVAL, "camera_id", "the camera role needs an id: %s",
                                  anr_camera_id_check(id, strlen(id)));
        if (rd[0] && rd[0] != '/')
                return ds_err_set(e, -EINVAL, "recordings_dir", "must be an absolute path");
        if (sd[0] && sd[0] != '/')
                return ds_err_set(e, -EINVAL, "store_dir", "must be an absolute path");
        if ((r = check_cameras(ds_settings_get(s, "cameras"), e)) < 0)
                return r;
        write_shape(s, &w);
        if (x->d && (mpw_len(&w) != mpw_len(&shape.cams) || memcmp(mpw_data(&w), mpw_data(&shape.cams), mpw_len(&w)))) {
                mpw_free(&w);
                return ds_err_set(e, -EBUSY, "cameras",
                                  "role, camera_id, cameras and the directories change at a restart of anr-d");
        }
        if (ret_shape)
                mpw_move(ret_shape, &w);
        mpw_free(&w);
        return 0;
}

static int anr_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e)
{
        (void)d;
        return check_from(ctx, s, NULL, e);
}

/* After check_from nothing is refused. */
static int anr_apply(struct ds_daemon *d, void *ctx, struct ds_err *e)
{
        struct anr_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        bool camera = !strcmp(ds_settings_str(s, "role"), "camera");
        struct mpw w;
        int r;

        mpw_init(&w);
        if ((r = check_from(x, s, &w, e)) < 0)
                return r;
        if (!x->d) {
                mpw_move(&shape.cams, &w);
                shape.camera = camera;
        }
        mpw_free(&w);
        x->pre_record_ms = ds_settings_int(s, "pre_record_s") * 1000;
        x->merge_ms = ds_settings_int(s, "merge_gap_s") * 1000;
        x->max_skew_ms = ds_settings_int(s, "max_skew_s") * 1000;
        x->ping_ms = ds_settings_int(s, "ping_ms");
        x->chunk = (uint32_t)ds_settings_int(s, "chunk_kib") * 1024;
        x->parallel = (unsigned)ds_settings_int(s, "parallel");
        x->max_index = (size_t)ds_settings_int(s, "max_index_entries");
        x->rate_Bps = (uint64_t)ds_settings_int(s, "max_rate_kbps") * 1000 / 8;
        {
                int64_t now = ds_now_mono_ms();
                anr_bucket_init(&x->global, x->rate_Bps, x->rate_Bps / 4 > 4096 ? x->rate_Bps / 4 : 4096, now);
                for (unsigned i = 0; i < x->n_cams; i++) {
                        struct anr_cam *c = &x->cams[i];
                        anr_bucket_init(&c->bucket, c->rate_Bps, c->rate_Bps / 4 > 4096 ? c->rate_Bps / 4 : 4096, now);
                }
        }
        x->d = d;
        return 0;
}

static int anr_init(struct ds_daemon *d, void *ctx)
{
        struct anr_ctx *x = ctx;
        const struct ds_settings *s = &d->settings;
        struct ds_err e;
        int r;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_errno(-errno, "PR_SET_NO_NEW_PRIVS: %m");
        if (sodium_init() < 0)
                return log_errno(-ENOMEM, "libsodium initialisation failed");
        ds_err_clear(&e);
        if ((r = anr_apply(d, x, &e)) < 0) {
                log_err("%s", e.msg);
                return r;
        }
        x->scan_timer = x->tick_timer = -1;
        x->camera_role = shape.camera;
        if (x->camera_role) {
                const char *rd = ds_settings_str(s, "recordings_dir");
                snprintf(x->camera_id, sizeof x->camera_id, "%s", ds_settings_str(s, "camera_id"));
                snprintf(x->svc_name, sizeof x->svc_name, "anr-d-%s", x->camera_id);
                snprintf(x->nvr_identity, sizeof x->nvr_identity, "%s", ds_settings_str(s, "nvr_identity"));
                if (rd[0])
                        snprintf(x->rec_dir, sizeof x->rec_dir, "%s", rd);
                else
                        snprintf(x->rec_dir, sizeof x->rec_dir, "%s/recordings", d->statedir);
                /* the camera serves under a name that carries its id, on the NVR's bus */
                anr_service.name = x->svc_name;
                if (!strcmp(d->identity, "anr-d"))
                        d->identity = x->svc_name;
                return anr_camera_init(x);
        }
        const char *sd = ds_settings_str(s, "store_dir");
        if (sd[0])
                snprintf(x->store_dir, sizeof x->store_dir, "%s", sd);
        else
                snprintf(x->store_dir, sizeof x->store_dir, "%s/store", d->statedir);
        if ((r = load_cameras(x, s)) < 0)
                return r;
        x->d = d;
        if ((r = anr_apply(d, x, &e)) < 0) /* the buckets of the cameras just loaded */
                return r;
        return anr_nvr_init(x);
}

static int anr_start(struct ds_daemon *d, void *ctx)
{
        struct anr_ctx *x = ctx;

        (void)d;
        if (x->camera_role)
                return anr_camera_start(x);
        if (!x->n_cams)
                log_notice("no cameras configured: nothing to watch");
        return anr_nvr_start(x);
}

static void anr_stop(struct ds_daemon *d, void *ctx)
{
        struct anr_ctx *x = ctx;

        (void)d;
        if (x->camera_role)
                anr_camera_stop(x);
        else
                anr_nvr_stop(x);
        free(x->cams);
        x->cams = NULL;
        x->n_cams = 0;
        mpw_free(&shape.cams);
}

static void anr_status(struct ds_daemon *d, void *ctx, struct mpw *w)
{
        struct anr_ctx *x = ctx;

        (void)d;
        mpw_kv_str(w, "role", x->camera_role ? "camera" : "nvr");
        if (x->camera_role)
                anr_camera_status(x, w);
        else
                mpw_kv_uint(w, "cameras", x->n_cams);
}

static struct ds_service anr_service = {
        .name = "anr-d",
        .version = DEVSEC_VERSION,
        .methods = anr_methods,
        .settings = anr_settings,
        .audit = anr_audit,
        .topics = topics,
        .config_auth = AUTH_NEEDS(STORAGE),
        .init = anr_init,
        .apply = anr_apply,
        .check_settings = anr_check_settings,
        .start = anr_start,
        .stop = anr_stop,
        .status = anr_status,
        /* recordings are the user's, not settings or state: they stay */
        .factory_keep = (const char *const[]){ "recordings", "store", NULL },
};

int main(int argc, char **argv)
{
        static struct anr_ctx ctx;

        return ds_daemon_main(argc, argv, &anr_service, &ctx);
}
