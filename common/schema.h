/* schema.h - typed argument schemas, validated before any handler runs */
#pragma once
#include "err.h"
#include "mp.h"

enum ds_type {
        DS_STR = 1,
        DS_INT,
        DS_BOOL,
        DS_FLOAT,
        DS_MAP,   /* .sub: its fields */
        DS_ARRAY, /* .sub: exactly one field (no name) describing each item */
        DS_ANY,
};

#define DS_REQUIRED 0x1u
#define DS_SECRET 0x2u   /* never echoed, logged or exported */
#define DS_OPEN_MAP 0x4u /* DS_MAP whose unknown keys are allowed */

/* A string check: returns NULL when s is acceptable, else why it is not. */
typedef const char *(*ds_check_fn)(const char *s, size_t n);

struct ds_field {
        const char *name;
        enum ds_type type;
        unsigned flags;
        int64_t min, max;             /* DS_INT/DS_FLOAT range, enforced when max > min */
        uint32_t min_len, max_len;    /* DS_STR bytes, DS_ARRAY items; max_len 0 = default cap */
        const char *const *enums;     /* DS_STR: NULL-terminated allowed values */
        ds_check_fn check;            /* DS_STR: pattern */
        const struct ds_field *sub;   /* DS_MAP fields (NULL-name terminated) / DS_ARRAY item */
        const char *help;             /* one line for docs and devctl */
        /* defaults, for settings schemas */
        const char *def_str;
        int64_t def_int;
        bool def_bool;
};

#define DS_STR_MAX_DEFAULT 4096u

/* Validates args (a map) against fields (terminated by a NULL name). Unknown
 * keys are refused so that a mistyped setting is never silently ignored.
 * Returns 0 or -EINVAL with e naming the field (dotted path). */
int ds_validate(const struct ds_field *fields, const msgpack_object *args, struct ds_err *e);

/* The most top-level fields a method's table may have (ds_methods_selftest). */
#define DS_ARGS_MAX 16
/* Validates like ds_validate() and binds: tb[i] is the value of fields[i]
 * (NULL when absent or nil), so that a handler indexes by the enum beside its
 * table instead of searching the map again. tb holds ntb entries; all are
 * written (NULL past the table). */
int ds_validate_bind(const struct ds_field *fields, const msgpack_object *args, const msgpack_object **tb,
                     size_t ntb, struct ds_err *e);

/* Finds a field by name in a table. */
const struct ds_field *ds_field_find(const struct ds_field *fields, const char *name);

/* Self-test of a schema: names unique and valid, ranges sane, sub present. */
int ds_schema_selftest(const struct ds_field *fields, struct ds_err *e);

/* Common patterns. */
const char *ds_check_name(const char *s, size_t n);      /* [A-Za-z0-9_.-]{1,32}, starts alnum */
const char *ds_check_printable(const char *s, size_t n); /* printable, no control bytes */
const char *ds_check_host(const char *s, size_t n);      /* hostname or IP literal */
const char *ds_check_hostport(const char *s, size_t n);  /* HOST[:PORT] or [v6]:PORT */
const char *ds_check_email(const char *s, size_t n);
const char *ds_check_ip(const char *s, size_t n);        /* IPv4 or IPv6 literal */
const char *ds_check_mac(const char *s, size_t n);       /* aa:bb:cc:dd:ee:ff */
const char *ds_check_path(const char *s, size_t n);      /* absolute path, no .. */
