/* svc_settings.c - a service's settings: schema defaults, the config file, the
 * overrides config.set persists; validated as a whole, swapped in atomically */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "svc_internal.h"

/* Builds effective settings from the file map and the overrides map. */
int svc_build_settings(struct ds_daemon *d, const msgpack_object *file, const msgpack_object *over,
                       struct ds_settings *ret, struct ds_err *e)
{
        static const struct ds_field none[] = { { NULL } };
        const msgpack_object *layers[2] = { file, over };

        return ds_settings_build(d->svc->settings ? d->svc->settings : none, layers, 2, ret, e);
}


void svc_layers_free(struct layers *l)
{
        if (l->have_file)
                msgpack_unpacked_destroy(&l->file_u);
        if (l->have_over)
                msgpack_unpacked_destroy(&l->over_u);
        mpw_free(&l->file);
        free(l->over_buf);
        memset(l, 0, sizeof *l);
}

int svc_load_layers(struct ds_daemon *d, struct layers *l, struct ds_err *e)
{
        static const struct ds_field none[] = { { NULL } };
        const char *why;
        size_t len;
        int r;

        memset(l, 0, sizeof *l);
        mpw_init(&l->file);
        r = cfg_read_file(d->conf_path, d->svc->settings ? d->svc->settings : none, &l->file, e);
        if (r == -ENOENT) {
                ds_err_clear(e);
        } else if (r < 0) {
                return r;
        } else if (mp_decode(mpw_data(&l->file), mpw_len(&l->file), NULL, &l->file_u, &why) < 0) {
                /* never fall back to defaults for a file that is there but unusable */
                return ds_err_set(e, -EINVAL, NULL, "%s: cannot be used: %s", d->conf_path, why);
        } else {
                l->have_file = true;
        }
        r = state_read(d->statedir, SETTINGS_FILE, 1 << 20, &l->over_buf, &len);
        if (r == 0) {
                if (mp_decode(l->over_buf, len, NULL, &l->over_u, &why) < 0)
                        return ds_err_set(e, -EINVAL, NULL, "%s/%s: %s", d->statedir, SETTINGS_FILE, why);
                l->have_over = true;
        } else if (r != -ENOENT) {
                return ds_err_set(e, r, NULL, "%s/%s: %s", d->statedir, SETTINGS_FILE, strerror(-r));
        }
        return 0;
}

int svc_load_settings(struct ds_daemon *d, struct ds_settings *ret, struct ds_err *e)
{
        struct layers l;
        int r;

        r = svc_load_layers(d, &l, e);
        if (r == 0)
                r = svc_build_settings(d, l.have_file ? &l.file_u.data : NULL, l.have_over ? &l.over_u.data : NULL,
                                   ret, e);
        svc_layers_free(&l);
        return r;
}

/* What follows the settings in force, told they changed. */
static void settings_followed(struct ds_daemon *d)
{
        if (d->on_settings)
                d->on_settings(d);
}

/* Puts back settings that svc_swap_settings() returned, and applies them again. */
void svc_restore_settings(struct ds_daemon *d, struct ds_settings *old)
{
        struct ds_err ignore;

        ds_settings_free(&d->settings);
        d->settings = *old;
        memset(old, 0, sizeof *old);
        if (d->svc->apply)
                d->svc->apply(d, d->ctx, &ignore);
        settings_followed(d);
}

/* Swaps in new settings and applies them; on refusal the old ones stay. With
 * ret_old the replaced settings are handed back (for svc_restore_settings()),
 * else freed. */
int svc_swap_settings(struct ds_daemon *d, struct ds_settings *fresh, struct ds_settings *ret_old,
                      struct ds_err *e)
{
        struct ds_settings old = d->settings;
        int r = 0;

        d->settings = *fresh;
        memset(fresh, 0, sizeof *fresh);
        if (d->svc->apply)
                r = d->svc->apply(d, d->ctx, e);
        if (r < 0) {
                svc_restore_settings(d, &old);
                return r;
        }
        if (ret_old)
                *ret_old = old;
        else
                ds_settings_free(&old);
        settings_followed(d);
        return 0;
}

static void publish_changed(struct ds_daemon *d, const char *actor, const msgpack_object *changes,
                            const char *what)
{
        char topic[BUS_TOPIC_MAX + 1];
        struct mpw w;

        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", actor);
        mpw_kv_str(&w, "what", what);
        mpw_str(&w, "keys");
        mpw_arr_begin(&w);
        if (changes && changes->type == MSGPACK_OBJECT_MAP)
                for (uint32_t i = 0; i < changes->via.map.size; i++)
                        mpw_obj(&w, &changes->via.map.ptr[i].key);
        mpw_arr_end(&w);
        mpw_map_end(&w);
        snprintf(topic, sizeof topic, "%s.config.changed", d->svc->name);
        ds_daemon_publish(d, topic, &w);
        mpw_free(&w);
}

/* Settings being changed: validated and built, not yet in force. */

void svc_settings_change_free(struct settings_change *sc)
{
        ds_settings_free(&sc->fresh);
        mpw_wipe(&sc->over);
}

/* Validates changes and builds the settings they make, changing nothing. */
int svc_settings_change_prepare(struct ds_daemon *d, const msgpack_object *changes, bool replace,
                                struct settings_change *sc, struct ds_err *e)
{
        struct layers l;
        msgpack_unpacked u;
        const char *why;
        int r;

        memset(sc, 0, sizeof *sc);
        mpw_init(&sc->over);
        if (!d->svc->settings)
                return ds_err_set(e, -EINVAL, "settings", "%s has no settings", d->svc->name);
        r = ds_validate(d->svc->settings, changes, e);
        if (r < 0)
                return r;
        r = svc_load_layers(d, &l, e);
        if (r < 0) {
                svc_layers_free(&l);
                return r;
        }
        /* new overrides: the changes, plus earlier overrides they do not name */
        mpw_map_begin(&sc->over);
        for (uint32_t i = 0; i < changes->via.map.size; i++) {
                mpw_obj(&sc->over, &changes->via.map.ptr[i].key);
                mpw_obj(&sc->over, &changes->via.map.ptr[i].val);
        }
        if (l.have_over)
                for (uint32_t i = 0; i < l.over_u.data.via.map.size; i++) {
                        const msgpack_object *k = &l.over_u.data.via.map.ptr[i].key;
                        char key[64];

                        const struct ds_field *f;

                        if (mp_strcpy(k, key, sizeof key) < 0 || mp_get(changes, key) ||
                            !(f = ds_field_find(d->svc->settings, key)))
                                continue;
                        /* a replacement drops the rest, but a secret it cannot carry stays */
                        if (replace && !(f->flags & DS_SECRET))
                                continue;
                        mpw_obj(&sc->over, k);
                        mpw_obj(&sc->over, &l.over_u.data.via.map.ptr[i].val);
                }
        mpw_map_end(&sc->over);
        r = mp_decode(mpw_data(&sc->over), mpw_len(&sc->over), NULL, &u, &why);
        if (r < 0) {
                r = ds_err_set(e, r, "settings", "%s", why);
        } else {
                r = svc_build_settings(d, l.have_file ? &l.file_u.data : NULL, &u.data, &sc->fresh, e);
                msgpack_unpacked_destroy(&u);
        }
        svc_layers_free(&l);
        return r;
}

/* Persists settings already in force; audits and announces the change. */
int svc_settings_change_commit(struct ds_daemon *d, struct settings_change *sc, const msgpack_object *changes,
                               const char *actor, struct ds_err *e)
{
        int r = ds_daemon_save(d, SETTINGS_FILE, mpw_data(&sc->over), mpw_len(&sc->over));

        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot save settings: %s", strerror(-r));
        log_audit("operation", LOG_LVL_NOTICE, actor, "%s: settings changed by '%s'", d->svc->name, actor);
        publish_changed(d, actor, changes, "set");
        return 0;
}

int ds_daemon_set_settings(struct ds_daemon *d, const msgpack_object *changes, const char *actor,
                           struct ds_err *e)
{
        struct settings_change sc;
        struct ds_settings old;
        int r;

        r = svc_settings_change_prepare(d, changes, false, &sc, e);
        if (r == 0)
                r = svc_swap_settings(d, &sc.fresh, &old, e);
        if (r == 0) {
                r = svc_settings_change_commit(d, &sc, changes, actor, e);
                if (r < 0)
                        svc_restore_settings(d, &old); /* not saved: not in force either */
                else
                        ds_settings_free(&old);
        }
        svc_settings_change_free(&sc);
        return r;
}

int ds_daemon_set_settings_w(struct ds_daemon *d, const struct mpw *w, const char *actor, struct ds_err *e)
{
        msgpack_unpacked u;
        const char *why;
        int r;

        if (mp_decode(mpw_data(w), mpw_len(w), NULL, &u, &why) < 0)
                return ds_err_set(e, -DS_EINTERNAL, NULL, "cannot encode the change: %s", why);
        r = ds_daemon_set_settings(d, &u.data, actor, e);
        msgpack_unpacked_destroy(&u);
        return r;
}

int svc_reset_settings(struct ds_daemon *d, const char *actor, struct ds_err *e)
{
        struct ds_settings fresh;
        struct layers l;
        int r;

        r = svc_load_layers(d, &l, e);
        if (r == 0)
                r = svc_build_settings(d, l.have_file ? &l.file_u.data : NULL, NULL, &fresh, e);
        svc_layers_free(&l);
        if (r < 0)
                return r;
        r = svc_swap_settings(d, &fresh, NULL, e);
        if (r < 0)
                return r;
        r = state_remove(d->statedir, SETTINGS_FILE);
        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot remove saved settings: %s", strerror(-r));
        if (d->svc->reset_state && (r = d->svc->reset_state(d, d->ctx)) < 0)
                return ds_err_set(e, r, NULL, "cannot reset state: %s", strerror(-r));
        log_audit("operation", LOG_LVL_NOTICE, actor, "%s: factory defaults restored by '%s'", d->svc->name,
                  actor);
        publish_changed(d, actor, NULL, "reset");
        return 0;
}
