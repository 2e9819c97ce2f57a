/* log_verify.h - devctl log verify's parts, shared by cmd_log.c (one chain) and
 * cmd_logchain.c (a store started anew by a factory reset: a chain per key) */
#pragma once
#include "devctl.h"
#include "seal.h"

#define LOG_KEYS_MAX 8

/* log_verify.c */
int logv_read_key(const char *path, struct seal_vkey *k);
/* The anchor file: --anchor FILE, else $XDG_STATE_HOME/devsec or ~/.local/state/devsec. */
int logv_anchor_path(const char *opt, char *dir, size_t dsize, char *name, size_t nsize);
int logv_anchor_load(const char *dir, const char *name, const char *id, struct seal_anchor *a, bool *found);
int logv_anchor_save(const char *dir, const char *name, const char *id, const struct seal_anchor *a);
/* What log.segments claims (the verifier holds logd to it) and the page to
 * read with (an older logd does not say: its limit then). */
uint64_t logv_claims(const msgpack_object *r, struct seal_claims *c);
/* One segment through log.read (caller frees *ret). */
int logv_fetch_segment(struct devctl *dc, const char *name, uint64_t size, uint64_t page, char **ret, size_t *ret_len);
/* cmd_logchain.c: verifies each chain of the store on its own, with the key (of keys) that
 * verifies it; prints a line per chain; exit code. */
int log_verify_chains(struct devctl *dc, const char *const *keys, size_t nkeys, const char *anchor_opt);
