/* cfg.h - libconfig files read through a settings schema */
#pragma once
#include "err.h"
#include "mp.h"
#include "schema.h"

/* Reads a libconfig file and converts it, by schema, to a msgpack map in out
 * (out must be initialised). Unknown keys, wrong types and range errors give
 * -EINVAL with "path:line: ..." in e->msg. A missing file is -ENOENT. */
int cfg_read_file(const char *path, const struct ds_field *schema, struct mpw *out, struct ds_err *e);

/* The effective settings of a service: schema defaults, then each overlay
 * (NULL allowed), each overlay validated against the schema. */
struct ds_settings {
        const struct ds_field *schema;
        char *buf;
        size_t len;
        msgpack_unpacked u;
        char **strs; /* NUL-terminated copies of top-level strings, by field index */
        size_t n_fields;
};

int ds_settings_build(const struct ds_field *schema, const msgpack_object *const *overlays,
                      size_t n_overlays, struct ds_settings *ret, struct ds_err *e);
void ds_settings_free(struct ds_settings *s);
const msgpack_object *ds_settings_map(const struct ds_settings *s);
const msgpack_object *ds_settings_get(const struct ds_settings *s, const char *key);
int64_t ds_settings_int(const struct ds_settings *s, const char *key);
bool ds_settings_bool(const struct ds_settings *s, const char *key);
double ds_settings_double(const struct ds_settings *s, const char *key);
const char *ds_settings_str(const struct ds_settings *s, const char *key); /* "" when unset */
/* Writes the settings map, leaving DS_SECRET fields out unless with_secrets. */
void ds_settings_write(const struct ds_settings *s, struct mpw *w, bool with_secrets);
