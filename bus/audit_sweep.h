/* audit_sweep.h - the one aggregation of the device's audit: every known
 * service's items (asked of a running one, taken from its installed item
 * table when it is down or switched off), the operator items of the guide,
 * and the mapping of each item to the Dahua guide, ETSI EN 303 645 and
 * IEC 62443-4-2. devctl audit and webd's /api/v1/audit both feed it the
 * same bus answers and print what it writes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "mp.h"

/* Where a reference does not apply the field is NULL. */
struct ds_audit_ref {
        const char *id;
        int dahua_level;        /* the guide's protection level for it (Table 2-1), 0: not in the table */
        const char *section;    /* the guide's section ("2.2.3"), NULL: none */
        const char *guide_item; /* the Table 2-1 row it answers, NULL: none */
        const char *etsi;       /* ETSI EN 303 645 provision */
        const char *iec;        /* IEC 62443-4-2 requirement */
        /* operator items only: what the device cannot check, with the guide's advice */
        const char *title;
        const char *advice;
};

/* The mapping, NULL-terminated (audit_map.c), and one id's entry (NULL: none). */
extern const struct ds_audit_ref ds_audit_refs[];
const struct ds_audit_ref *ds_audit_ref_find(const char *id);

/* The directory of the item tables (NAME.json): $DEVSEC_AUDIT_DIR, else a
 * build tree's share/audit next to the binary, else the one make install fills. */
const char *ds_audit_dir(void);

struct ds_sweep;

/* A sweep at level 1..3; loads the installed tables. NULL: out of memory. */
struct ds_sweep *ds_sweep_new(int level);
void ds_sweep_free(struct ds_sweep *s);

/* 1: bus.services' answer. Returns how many services it names (busd aside). */
size_t ds_sweep_services(struct ds_sweep *s, const msgpack_object *reply);
/* The i-th of them, and whether it is to be asked audit.report (running). */
const char *ds_sweep_name(const struct ds_sweep *s, size_t i);
bool ds_sweep_ask(const struct ds_sweep *s, size_t i);
/* 2: netcfgd's function.list answer (NULL: not had): a daemon whose function
 * is off has its items n/a (off). */
void ds_sweep_functions(struct ds_sweep *s, const msgpack_object *reply);
/* 3: the i-th service's audit.report answer (code 0) or the call's error
 * (code < 0, msg its message). */
void ds_sweep_report(struct ds_sweep *s, size_t i, int code, const char *msg, const msgpack_object *reply);

struct ds_sweep_counts {
        int pass, fail, na, operator_items;
        int score;   /* pass / (pass + fail), in percent; 100 when nothing counts */
        int refused; /* a call answered EPERM or EAUTH: its code (else 0) */
};
/* 4: the result: {level, passed, failed, na, operator, score, items: [...]},
 * each item {service, id, level, title, result, detail, remediation,
 * automatic, runtime, dahua_level, dahua_section, dahua_item, etsi, iec}. */
void ds_sweep_write(const struct ds_sweep *s, struct mpw *w);
void ds_sweep_counts(const struct ds_sweep *s, struct ds_sweep_counts *ret);
