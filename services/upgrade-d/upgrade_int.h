/* upgrade_int.h - upgrade-d's internals shared by install.c and journal.c */
#pragma once
#include "upgrade.h"

int upg_comp_dir(struct upg_ctx *x, const char *name, char *buf, size_t size);
/* Points components_dir/NAME/<link> at target atomically; "" removes it. */
int upg_link_set(struct upg_ctx *x, const char *name, const char *link, const char *target);
int upg_marker_write(const char *vdir, const char *signer, const char *version, uint64_t sv);
int upg_marker_read(const char *vdir, uint64_t *ret_sv, char *signer, size_t size);
void upg_prune(struct upg_ctx *x, const char *name);
const char *upg_step_name(enum upg_step s);
int upg_journal_write(struct upg_ctx *x);
int upg_journal_read(struct upg_ctx *x, struct upg_job *ret);
void upg_journal_remove(struct upg_ctx *x);
void upg_history_add(struct upg_ctx *x, const char *result, const char *reason);
/* install.c, used by gate.c */
void upg_crash_point(struct upg_ctx *x, const char *where);
void upg_job_clear(struct upg_ctx *x);
void upg_commit(struct upg_ctx *x);
void upg_restore_done(struct upg_ctx *x, bool healthy);
void upg_rollback_begin(struct upg_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails the request c, or, for what upgrade-d does on its own (c NULL: the
 * online check's automatic install), logs why. Returns code. */
int upg_fail(struct ds_call *c, int code, const char *field, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define UPG_ACTOR(c) ((c) ? ds_call_actor(c) : "upgrade-d")
