/* tuf.h - The Update Framework's client checks (metadata in the TUF
 * specification's format: root, timestamp, snapshot and targets roles, each
 * {"signed": ..., "signatures": [{keyid, sig}]}, Ed25519 over the canonical
 * JSON of "signed", thresholds, versions that only go up, expiry). Pure
 * logic: the caller fetches the files and keeps the trusted set. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define TUF_META_MAX (1u << 20)

enum tuf_role { TUF_ROOT = 0, TUF_TIMESTAMP, TUF_SNAPSHOT, TUF_TARGETS, TUF_N_ROLES };
extern const char *const tuf_role_names[TUF_N_ROLES];

/* The trusted metadata (whole documents); NULL where none is trusted yet. */
struct tuf_trusted {
        json_t *meta[TUF_N_ROLES];
};

/* Canonical JSON (sorted keys, no whitespace, integers only, only '"' and
 * '\' escaped in strings): caller owns; NULL for a float or on error. */
char *tuf_canonical(const json_t *v);
/* hex(SHA-256(canonical(key))): the key id of a public key object. */
int tuf_keyid(const json_t *key, char out[65]);

/* Loads a trusted root (the device's initial root.json): self-signed to its
 * own threshold. Expiry is not checked here (a root may be updated first). */
int tuf_trust_root(struct tuf_trusted *t, const char *text, size_t len, struct ds_err *e);
/* N+1.root.json: signed to the threshold of the trusted root and of itself,
 * version exactly one more. Rotated timestamp or snapshot keys drop the
 * trusted timestamp and snapshot (so a fast-forward can be recovered from). */
int tuf_update_root(struct tuf_trusted *t, const char *text, size_t len, struct ds_err *e);
/* The trusted root must not be expired at now_s. */
int tuf_check_root(const struct tuf_trusted *t, int64_t now_s, struct ds_err *e);
/* timestamp, then snapshot, then targets: each verified against the trusted
 * root's keys and threshold, its hashes and length when the parent names
 * them, its version never below the trusted one (and, for snapshot and
 * targets, exactly what the parent names), and not expired at now_s. */
int tuf_update_timestamp(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e);
int tuf_update_snapshot(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e);
int tuf_update_targets(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e);
/* The verified targets' entry for name: {length, hashes, custom} (borrowed). */
const json_t *tuf_target(const struct tuf_trusted *t, const char *name);
int64_t tuf_version(const struct tuf_trusted *t, enum tuf_role r);
void tuf_trusted_free(struct tuf_trusted *t);

/* Signs meta's "signed" with an Ed25519 secret key (libsodium's 64 bytes),
 * appending {keyid, sig} to "signatures" (for devsec-bundle repo). */
int tuf_sign(json_t *meta, const json_t *pubkey, const unsigned char sk[64]);
/* {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hex}}: new ref. */
json_t *tuf_key_new(const unsigned char pk[32]);
