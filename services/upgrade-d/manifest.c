/* manifest.c - the bundle manifest: parsed from JSON with every rule checked
 * (names, versions, paths, sizes, hashes, limits), and written canonically */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "schema.h"

const char *bundle_path_check(const char *p)
{
        size_t n = strlen(p), seg = 0, depth = 0;

        if (n == 0)
                return "is empty";
        if (n > BUNDLE_PATH_MAX)
                return "is too long";
        if (p[0] == '/')
                return "must be relative (no leading '/')";
        for (size_t i = 0; i <= n; i++) {
                char c = p[i];
                if (c == '/' || c == '\0') {
                        if (seg == 0)
                                return "has an empty segment";
                        if ((seg == 1 && p[i - 1] == '.') || (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
                                return "must not contain '.' or '..' segments";
                        if (++depth > BUNDLE_PATH_DEPTH)
                                return "is nested too deep";
                        seg = 0;
                        continue;
                }
                if (!isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-' && c != '+')
                        return "may contain only letters, digits, '.', '_', '-', '+' and '/'";
                seg++;
        }
        return NULL;
}

const char *bundle_version_check(const char *v)
{
        size_t parts = 0, digits = 0, n = strlen(v);

        if (n == 0 || n > BUNDLE_VERSION_MAX)
                return "must be 1 to 32 characters";
        for (size_t i = 0; i <= n; i++) {
                if (v[i] == '.' || v[i] == '\0') {
                        if (digits == 0)
                                return "must be dotted numbers (1.0.1)";
                        parts++;
                        digits = 0;
                } else if (isdigit((unsigned char)v[i])) {
                        if (++digits > 6)
                                return "has a part longer than 6 digits";
                } else {
                        return "must be dotted numbers (1.0.1)";
                }
        }
        return parts > 4 ? "has more than 4 parts" : NULL;
}

int bundle_version_cmp(const char *a, const char *b)
{
        while (*a || *b) {
                unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);
                if (x != y)
                        return x < y ? -1 : 1;
                if (*a == '.')
                        a++;
                if (*b == '.')
                        b++;
        }
        return 0;
}

const struct bundle_component *bundle_component_find(const struct bundle_manifest *m, const char *name)
{
        for (size_t i = 0; i < m->n_comps; i++)
                if (!strcmp(m->comps[i].name, name))
                        return &m->comps[i];
        return NULL;
}

void bundle_manifest_free(struct bundle_manifest *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_comps; i++)
                free(m->comps[i].files);
        free(m->comps);
        memset(m, 0, sizeof *m);
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1; /* uppercase too: one spelling per hash */
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
        if (strlen(s) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

/* field = where.suffix (the dotted path named in an error) */
static const char *sub(char *field, size_t size, const char *where, const char *suffix)
{
        if (snprintf(field, size, "%s.%s", where, suffix) >= (int)size)
                field[size - 1] = '\0';
        return field;
}

/* Strict object access: every key must be known (a typo is never ignored). */
static int keys_known(json_t *o, const char *const *known, const char *where, struct ds_err *e)
{
        const char *k;
        json_t *v;

        json_object_foreach(o, k, v) {
                bool ok = false;
                for (size_t i = 0; known[i] && !ok; i++)
                        ok = !strcmp(k, known[i]);
                if (!ok)
                        return ds_err_set(e, -EINVAL, where, "unknown key '%.40s'", k);
        }
        return 0;
}

static int get_str(json_t *o, const char *key, char *buf, size_t size, const char *field, struct ds_err *e)
{
        json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                return ds_err_set(e, -EINVAL, field, "missing or not a string");
        if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
                return ds_err_set(e, -EINVAL, field, "too long or contains NUL");
        memcpy(buf, json_string_value(v), json_string_length(v) + 1);
        return 0;
}

static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *ret, const char *field, struct ds_err *e)
{
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
                return ds_err_set(e, -EINVAL, field, "missing or not an integer in 0..%" PRIu64, max);
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

static int parse_file(json_t *f, struct bundle_file *bf, const char *where, struct ds_err *e)
{
        static const char *const known[] = { "path", "size", "sha256", "mode", NULL };
        char field[96], hex[72];
        const char *why;
        uint64_t mode;
        int r;

        if (!json_is_object(f))
                return ds_err_set(e, -EINVAL, where, "not an object");
        if ((r = keys_known(f, known, where, e)) < 0)
                return r;
        sub(field, sizeof field, where, "path");
        if ((r = get_str(f, "path", bf->path, sizeof bf->path, field, e)) < 0)
                return r;
        if ((why = bundle_path_check(bf->path)))
                return ds_err_set(e, -EINVAL, field, "'%s' %s", bf->path, why);
        sub(field, sizeof field, where, "size");
        if ((r = get_uint(f, "size", BUNDLE_FILE_MAX, &bf->size, field, e)) < 0)
                return r;
        sub(field, sizeof field, where, "sha256");
        if ((r = get_str(f, "sha256", hex, sizeof hex, field, e)) < 0)
                return r;
        if (unhex(hex, bf->sha256, 32) < 0)
                return ds_err_set(e, -EINVAL, field, "not 64 lowercase hex digits");
        sub(field, sizeof field, where, "mode");
        if ((r = get_uint(f, "mode", 07777, &mode, field, e)) < 0)
                return r;
        if (mode != 0644 && mode != 0755)
                return ds_err_set(e, -EINVAL, field, "must be 0644 or 0755 (no set-id, no group or world write)");
        bf->mode = (unsigned)mode;
        return 0;
}

/* "a" and "a/b" cannot both be files; neither can a path twice. */
static bool paths_clash(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        if (la == lb)
                return !strcmp(a, b);
        if (la > lb)
                return paths_clash(b, a);
        return !strncmp(a, b, la) && b[la] == '/';
}

static int parse_component(json_t *c, struct bundle_component *bc, const char *where, struct ds_err *e)
{
        static const char *const known[] = { "name", "version", "security_version", "files", NULL };
        char field[96];
        const char *why;
        json_t *files, *f;
        size_t i;
        int r;

        if (!json_is_object(c))
                return ds_err_set(e, -EINVAL, where, "not an object");
        if ((r = keys_known(c, known, where, e)) < 0)
                return r;
        sub(field, sizeof field, where, "name");
        if ((r = get_str(c, "name", bc->name, sizeof bc->name, field, e)) < 0)
                return r;
        if ((why = ds_check_name(bc->name, strlen(bc->name))))
                return ds_err_set(e, -EINVAL, field, "'%s' %s", bc->name, why);
        sub(field, sizeof field, where, "version");
        if ((r = get_str(c, "version", bc->version, sizeof bc->version, field, e)) < 0)
                return r;
        if ((why = bundle_version_check(bc->version)))
                return ds_err_set(e, -EINVAL, field, "'%s' %s", bc->version, why);
        sub(field, sizeof field, where, "security_version");
        if ((r = get_uint(c, "security_version", UINT32_MAX, &bc->security_version, field, e)) < 0)
                return r;
        sub(field, sizeof field, where, "files");
        files = json_object_get(c, "files");
        if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > BUNDLE_MAX_FILES)
                return ds_err_set(e, -EINVAL, field, "must be an array of 1 to %u files", BUNDLE_MAX_FILES);
        if (!(bc->files = calloc(json_array_size(files), sizeof *bc->files)))
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        json_array_foreach(files, i, f) {
                if (snprintf(field, sizeof field, "%s.files[%zu]", where, i) >= (int)sizeof field)
                        field[sizeof field - 1] = '\0';
                if ((r = parse_file(f, &bc->files[i], field, e)) < 0)
                        return r;
                bc->n_files = i + 1;
                for (size_t j = 0; j < i; j++)
                        if (paths_clash(bc->files[j].path, bc->files[i].path))
                                return ds_err_set(e, -EINVAL, field, "path '%s' clashes with '%s'", bc->files[i].path,
                                                  bc->files[j].path);
        }
        return 0;
}

int bundle_manifest_parse(const char *json, size_t len, uint64_t payload_off, struct bundle_manifest *ret,
                          struct ds_err *e)
{
        static const char *const known[] = { "format", "created", "bus_protocol", "components", NULL };
        static const char *const bus_known[] = { "min", "max", NULL };
        struct bundle_manifest m = { 0 };
        json_error_t je;
        json_t *root, *comps, *c, *bus;
        uint64_t fmt, bmin, bmax, off = payload_off;
        char field[96];
        size_t i;
        int r;

        root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
        if (!root)
                return ds_err_set(e, -EINVAL, "manifest", "not JSON: line %d: %.100s", je.line, je.text);
        if (!json_is_object(root)) {
                r = ds_err_set(e, -EINVAL, "manifest", "not an object");
                goto out;
        }
        if ((r = keys_known(root, known, "manifest", e)) < 0)
                goto out;
        if ((r = get_uint(root, "format", 1000, &fmt, "format", e)) < 0)
                goto out;
        if (fmt != BUNDLE_FORMAT) {
                r = ds_err_set(e, -EINVAL, "format", "manifest format %" PRIu64 " (this reader knows %u)", fmt, BUNDLE_FORMAT);
                goto out;
        }
        m.format = (unsigned)fmt;
        if (json_object_get(root, "created") && (r = get_str(root, "created", m.created, sizeof m.created, "created", e)) < 0)
                goto out;
        bus = json_object_get(root, "bus_protocol");
        if (!json_is_object(bus)) {
                r = ds_err_set(e, -EINVAL, "bus_protocol", "missing or not an object {min, max}");
                goto out;
        }
        if ((r = keys_known(bus, bus_known, "bus_protocol", e)) < 0 ||
            (r = get_uint(bus, "min", 255, &bmin, "bus_protocol.min", e)) < 0 ||
            (r = get_uint(bus, "max", 255, &bmax, "bus_protocol.max", e)) < 0)
                goto out;
        if (bmin > bmax || bmin == 0) {
                r = ds_err_set(e, -EINVAL, "bus_protocol", "min must be 1 or more and not above max");
                goto out;
        }
        m.bus_min = (int64_t)bmin;
        m.bus_max = (int64_t)bmax;
        comps = json_object_get(root, "components");
        if (!json_is_array(comps) || json_array_size(comps) == 0 || json_array_size(comps) > BUNDLE_MAX_COMPONENTS) {
                r = ds_err_set(e, -EINVAL, "components", "must be an array of 1 to %u components", BUNDLE_MAX_COMPONENTS);
                goto out;
        }
        if (!(m.comps = calloc(json_array_size(comps), sizeof *m.comps))) {
                r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                goto out;
        }
        json_array_foreach(comps, i, c) {
                snprintf(field, sizeof field, "components[%zu]", i);
                m.n_comps = i + 1;
                if ((r = parse_component(c, &m.comps[i], field, e)) < 0)
                        goto out;
                for (size_t j = 0; j < i; j++)
                        if (!strcmp(m.comps[j].name, m.comps[i].name)) {
                                r = ds_err_set(e, -EINVAL, field, "component '%s' named twice", m.comps[i].name);
                                goto out;
                        }
                for (size_t k = 0; k < m.comps[i].n_files; k++) {
                        m.comps[i].files[k].offset = off;
                        off += m.comps[i].files[k].size;
                }
        }
        m.payload_size = off - payload_off;
        *ret = m;
        memset(&m, 0, sizeof m);
        r = 0;
out:
        bundle_manifest_free(&m);
        json_decref(root);
        return r;
}

char *bundle_manifest_dump(const struct bundle_manifest *m)
{
        json_t *root = json_object(), *comps = json_array();
        char hex[65];
        char *s;

        json_object_set_new(root, "format", json_integer(m->format));
        if (m->created[0])
                json_object_set_new(root, "created", json_string(m->created));
        json_object_set_new(root, "bus_protocol", json_pack("{sIsI}", "min", (json_int_t)m->bus_min, "max", (json_int_t)m->bus_max));
        for (size_t i = 0; i < m->n_comps; i++) {
                const struct bundle_component *c = &m->comps[i];
                json_t *files = json_array();
                for (size_t k = 0; k < c->n_files; k++) {
                        for (size_t b = 0; b < 32; b++)
                                snprintf(hex + 2 * b, 3, "%02x", c->files[k].sha256[b]);
                        json_array_append_new(files, json_pack("{sssIsssi}", "path", c->files[k].path, "size",
                                                               (json_int_t)c->files[k].size, "sha256", hex, "mode",
                                                               (int)c->files[k].mode));
                }
                json_array_append_new(comps, json_pack("{sssssIso}", "name", c->name, "version", c->version,
                                                       "security_version", (json_int_t)c->security_version, "files", files));
        }
        json_object_set_new(root, "components", comps);
        s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(root);
        return s;
}
