/* tuf.c - TUF metadata checks: canonical JSON, Ed25519 signatures to a
 * threshold of distinct keys, the root chain, timestamp -> snapshot ->
 * targets with versions that only go up and expiry */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tuf.h"
#include "util.h"

const char *const tuf_role_names[TUF_N_ROLES] = { "root", "timestamp", "snapshot", "targets" };

struct buf {
        char *p;
        size_t n, cap;
        bool bad;
};

static void put(struct buf *b, const char *s, size_t n)
{
        if (b->bad)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t cap = (b->n + n + 1) * 2;
                char *p = realloc(b->p, cap);
                if (!p) {
                        b->bad = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->n, s, n);
        b->n += n;
        b->p[b->n] = '\0';
}

static void put_str(struct buf *b, const char *s, size_t n)
{
        put(b, "\"", 1);
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '"' || s[i] == '\\')
                        put(b, "\\", 1);
                put(b, s + i, 1);
        }
        put(b, "\"", 1);
}

static int cmp_key(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void canon(struct buf *b, const json_t *v, int depth)
{
        char num[32];

        if (depth > 32) {
                b->bad = true;
                return;
        }
        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                size_t n = json_object_size(v), i = 0;
                const char **keys = calloc(n ? n : 1, sizeof *keys), *k;
                json_t *x;
                if (!keys) {
                        b->bad = true;
                        return;
                }
                json_object_foreach((json_t *)v, k, x)
                        keys[i++] = k;
                qsort(keys, n, sizeof *keys, cmp_key);
                put(b, "{", 1);
                for (i = 0; i < n; i++) {
                        if (i)
                                put(b, ",", 1);
                        put_str(b, keys[i], strlen(keys[i]));
                        put(b, ":", 1);
                        canon(b, json_object_get(v, keys[i]), depth + 1);
                }
                put(b, "}", 1);
                free(keys);
                break;
        }
        case JSON_ARRAY:
                put(b, "[", 1);
                for (size_t i = 0; i < json_array_size(v); i++) {
                        if (i)
                                put(b, ",", 1);
                        canon(b, json_array_get(v, i), depth + 1);
                }
                put(b, "]", 1);
                break;
        case JSON_STRING:
                put_str(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                put(b, num, strlen(num));
                break;
        case JSON_TRUE: put(b, "true", 4); break;
        case JSON_FALSE: put(b, "false", 5); break;
        case JSON_NULL: put(b, "null", 4); break;
        default: b->bad = true; /* floats have no canonical form */
        }
}

char *tuf_canonical(const json_t *v)
{
        struct buf b = { 0 };

        canon(&b, v, 0);
        if (b.bad || !b.p) {
                free(b.p);
                return NULL;
        }
        return b.p;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
        unsigned char h[32];
        unsigned hl = 0;

        EVP_Digest(p, n, h, &hl, EVP_sha256(), NULL);
        ds_hex(h, 32, out);
}

int tuf_keyid(const json_t *key, char out[65])
{
        char *c = tuf_canonical(key);

        if (!c)
                return -EINVAL;
        sha256_hex(c, strlen(c), out);
        free(c);
        return 0;
}

json_t *tuf_key_new(const unsigned char pk[32])
{
        char hex[65];

        ds_hex(pk, 32, hex);
        return json_pack("{ss ss s{ss}}", "keytype", "ed25519", "scheme", "ed25519", "keyval", "public", hex);
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
        size_t len;

        if (!s || (len = strlen(s)) != 2 * n)
                return -EINVAL;
        return sodium_hex2bin(out, n, s, len, NULL, NULL, NULL) == 0 ? 0 : -EINVAL;
}

int tuf_sign(json_t *meta, const json_t *pubkey, const unsigned char sk[64])
{
        char *c = tuf_canonical(json_object_get(meta, "signed")), id[65], hex[129];
        unsigned char sig[64];
        json_t *sigs = json_object_get(meta, "signatures");

        if (!c || tuf_keyid(pubkey, id) < 0) {
                free(c);
                return -EINVAL;
        }
        crypto_sign_detached(sig, NULL, (const unsigned char *)c, strlen(c), sk);
        free(c);
        ds_hex(sig, 64, hex);
        if (!json_is_array(sigs)) {
                sigs = json_array();
                json_object_set_new(meta, "signatures", sigs);
        }
        return json_array_append_new(sigs, json_pack("{ssss}", "keyid", id, "sig", hex)) == 0 ? 0 : -ENOMEM;
}

static bool key_ok(const json_t *key)
{
        return json_is_string(json_object_get(key, "keytype")) &&
               !strcmp(json_string_value(json_object_get(key, "keytype")), "ed25519") &&
               json_is_string(json_object_get(key, "scheme")) &&
               !strcmp(json_string_value(json_object_get(key, "scheme")), "ed25519");
}

/* Counts distinct keys of role (in root_signed) with a good signature over
 * meta's canonical "signed"; -EINVAL below the threshold. */
static int verify_role(const json_t *root_signed, enum tuf_role role, const json_t *meta, const char *what,
                       struct ds_err *e)
{
        const json_t *r = json_object_get(json_object_get(root_signed, "roles"), tuf_role_names[role]);
        const json_t *keys = json_object_get(root_signed, "keys"), *ids = json_object_get(r, "keyids");
        const json_t *sigs = json_object_get(meta, "signatures"), *th = json_object_get(r, "threshold");
        char *c = tuf_canonical(json_object_get(meta, "signed"));
        const char *counted[64];
        size_t n_counted = 0, i;
        const json_t *s;

        if (!c || !json_is_array(ids) || !json_is_integer(th) || json_integer_value(th) < 1 || !json_is_array(sigs)) {
                free(c);
                return ds_err_set(e, -EINVAL, what, "not TUF metadata (signed, signatures, role '%s')", tuf_role_names[role]);
        }
        json_array_foreach(sigs, i, s) {
                const char *kid = json_string_value(json_object_get(s, "keyid"));
                const json_t *key;
                unsigned char pk[32], sig[64];
                char calc[65];
                bool listed = false, dup = false;
                size_t k;
                const json_t *id;
                if (!kid || n_counted == 64)
                        continue;
                json_array_foreach(ids, k, id) listed |= json_is_string(id) && !strcmp(json_string_value(id), kid);
                for (k = 0; k < n_counted; k++)
                        dup |= !strcmp(counted[k], kid);
                key = json_object_get(keys, kid);
                if (!listed || dup || !key || !key_ok(key) || tuf_keyid(key, calc) < 0 || strcmp(calc, kid) ||
                    unhex(json_string_value(json_object_get(json_object_get(key, "keyval"), "public")), pk, 32) < 0 ||
                    unhex(json_string_value(json_object_get(s, "sig")), sig, 64) < 0)
                        continue;
                if (crypto_sign_verify_detached(sig, (const unsigned char *)c, strlen(c), pk) == 0)
                        counted[n_counted++] = kid;
        }
        free(c);
        if ((json_int_t)n_counted < json_integer_value(th))
                return ds_err_set(e, -EINVAL, what, "%s: %zu valid signature(s) of role '%s', threshold %" JSON_INTEGER_FORMAT,
                                  what, n_counted, tuf_role_names[role], json_integer_value(th));
        return 0;
}

/* Parses text; checks _type, spec_version's major, version and expires. */
static json_t *load(const char *text, size_t len, enum tuf_role role, const char *what, int64_t *ret_version,
                    int64_t *ret_expires, struct ds_err *e)
{
        json_t *m = len <= TUF_META_MAX ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        const json_t *s = json_object_get(m, "signed");
        const char *type = json_string_value(json_object_get(s, "_type"));
        const char *spec = json_string_value(json_object_get(s, "spec_version"));
        const char *exp = json_string_value(json_object_get(s, "expires"));
        const json_t *v = json_object_get(s, "version");
        int64_t ms;

        if (!json_is_object(s) || !type || strcmp(type, tuf_role_names[role]) || !spec || strncmp(spec, "1.", 2) ||
            !json_is_integer(v) || json_integer_value(v) < 1 || !exp || ds_parse_time(exp, &ms) < 0) {
                json_decref(m);
                ds_err_set(e, -EINVAL, what, "not %s metadata of TUF 1.x (_type, spec_version, version, expires)",
                           tuf_role_names[role]);
                return NULL;
        }
        *ret_version = json_integer_value(v);
        *ret_expires = ms / 1000;
        return m;
}

int64_t tuf_version(const struct tuf_trusted *t, enum tuf_role r)
{
        return t->meta[r] ? json_integer_value(json_object_get(json_object_get(t->meta[r], "signed"), "version")) : 0;
}

static int64_t expires_of(const json_t *m)
{
        int64_t ms = 0;

        ds_parse_time(json_string_value(json_object_get(json_object_get(m, "signed"), "expires")), &ms);
        return ms / 1000;
}

static void set(struct tuf_trusted *t, enum tuf_role r, json_t *m)
{
        json_decref(t->meta[r]);
        t->meta[r] = m;
}

int tuf_trust_root(struct tuf_trusted *t, const char *text, size_t len, struct ds_err *e)
{
        int64_t v, x;
        json_t *m = load(text, len, TUF_ROOT, "root", &v, &x, e);
        int r;

        if (!m)
                return e->code;
        if ((r = verify_role(json_object_get(m, "signed"), TUF_ROOT, m, "root", e)) < 0) {
                json_decref(m);
                return r;
        }
        set(t, TUF_ROOT, m);
        return 0;
}

static bool same_keys(const json_t *a, const json_t *b, enum tuf_role r)
{
        const json_t *ka = json_object_get(json_object_get(json_object_get(a, "roles"), tuf_role_names[r]), "keyids");
        const json_t *kb = json_object_get(json_object_get(json_object_get(b, "roles"), tuf_role_names[r]), "keyids");

        return json_equal((json_t *)ka, (json_t *)kb);
}

int tuf_update_root(struct tuf_trusted *t, const char *text, size_t len, struct ds_err *e)
{
        const json_t *old = json_object_get(t->meta[TUF_ROOT], "signed");
        int64_t v, x;
        json_t *m;
        int r;

        if (!old)
                return ds_err_set(e, -EINVAL, "root", "no trusted root");
        if (!(m = load(text, len, TUF_ROOT, "root", &v, &x, e)))
                return e->code;
        /* signed by the old root's keys and by the new one's own */
        if ((r = verify_role(old, TUF_ROOT, m, "root", e)) < 0 ||
            (r = verify_role(json_object_get(m, "signed"), TUF_ROOT, m, "root", e)) < 0) {
                json_decref(m);
                return r;
        }
        if (v != tuf_version(t, TUF_ROOT) + 1) {
                json_decref(m);
                return ds_err_set(e, -EINVAL, "root", "root version %" PRId64 " after %" PRId64 " (must be the next)", v,
                                  tuf_version(t, TUF_ROOT));
        }
        if (!same_keys(old, json_object_get(m, "signed"), TUF_TIMESTAMP) ||
            !same_keys(old, json_object_get(m, "signed"), TUF_SNAPSHOT)) {
                set(t, TUF_TIMESTAMP, NULL);
                set(t, TUF_SNAPSHOT, NULL);
        }
        set(t, TUF_ROOT, m);
        return 0;
}

int tuf_check_root(const struct tuf_trusted *t, int64_t now_s, struct ds_err *e)
{
        if (!t->meta[TUF_ROOT])
                return ds_err_set(e, -EINVAL, "root", "no trusted root");
        if (expires_of(t->meta[TUF_ROOT]) <= now_s)
                return ds_err_set(e, -EINVAL, "root", "the trusted root (version %" PRId64 ") has expired",
                                  tuf_version(t, TUF_ROOT));
        return 0;
}

/* The parent's meta entry for file: version, optional length and sha256. */
static int check_meta(const json_t *entry, const char *text, size_t len, const char *what, struct ds_err *e)
{
        const json_t *l = json_object_get(entry, "length");
        const char *want = json_string_value(json_object_get(json_object_get(entry, "hashes"), "sha256"));
        char got[65];

        if (json_is_integer(l) && (json_int_t)len != json_integer_value(l))
                return ds_err_set(e, -EINVAL, what, "%s: %zu bytes, the parent names %" JSON_INTEGER_FORMAT, what, len,
                                  json_integer_value(l));
        if (want) {
                sha256_hex(text, len, got);
                if (strcmp(got, want))
                        return ds_err_set(e, -EINVAL, what, "%s does not match the SHA-256 its parent names", what);
        }
        return 0;
}

static int update_role(struct tuf_trusted *t, enum tuf_role role, const char *text, size_t len, int64_t now_s,
                       const json_t *entry, struct ds_err *e)
{
        const char *what = tuf_role_names[role];
        int64_t v, x, want = entry ? json_integer_value(json_object_get(entry, "version")) : 0;
        json_t *m;
        int r;

        if (!t->meta[TUF_ROOT])
                return ds_err_set(e, -EINVAL, what, "no trusted root");
        if (entry && (r = check_meta(entry, text, len, what, e)) < 0)
                return r;
        if (!(m = load(text, len, role, what, &v, &x, e)))
                return e->code;
        if ((r = verify_role(json_object_get(t->meta[TUF_ROOT], "signed"), role, m, what, e)) < 0)
                goto fail;
        if (v < tuf_version(t, role)) {
                r = ds_err_set(e, -EINVAL, what, "%s version %" PRId64 " is below the trusted %" PRId64 " (replayed)", what, v,
                               tuf_version(t, role));
                goto fail;
        }
        if (entry && v != want) {
                r = ds_err_set(e, -EINVAL, what, "%s version %" PRId64 ", the parent names %" PRId64, what, v, want);
                goto fail;
        }
        if (x <= now_s) {
                r = ds_err_set(e, -EINVAL, what, "%s metadata expired (%s)", what,
                               json_string_value(json_object_get(json_object_get(m, "signed"), "expires")));
                goto fail;
        }
        set(t, role, m);
        return 0;
fail:
        json_decref(m);
        return r;
}

static const json_t *meta_entry(const struct tuf_trusted *t, enum tuf_role parent, const char *file)
{
        return json_object_get(json_object_get(json_object_get(t->meta[parent], "signed"), "meta"), file);
}

int tuf_update_timestamp(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e)
{
        const json_t *old = meta_entry(t, TUF_TIMESTAMP, "snapshot.json"), *nw;
        json_t *keep = json_incref(t->meta[TUF_TIMESTAMP]);
        int r = update_role(t, TUF_TIMESTAMP, text, len, now_s, NULL, e);

        if (r == 0) {
                nw = meta_entry(t, TUF_TIMESTAMP, "snapshot.json");
                if (!json_is_integer(json_object_get(nw, "version")) ||
                    (old && json_integer_value(json_object_get(nw, "version")) < json_integer_value(json_object_get(old, "version")))) {
                        r = ds_err_set(e, -EINVAL, "timestamp", "the timestamp names an older snapshot (replayed)");
                        set(t, TUF_TIMESTAMP, json_incref(keep));
                }
        }
        json_decref(keep);
        return r;
}

int tuf_update_snapshot(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e)
{
        const json_t *entry = meta_entry(t, TUF_TIMESTAMP, "snapshot.json");
        json_t *keep = json_incref(t->meta[TUF_SNAPSHOT]);
        const json_t *oldm = json_object_get(json_object_get(keep, "signed"), "meta"), *v;
        const char *k;
        int r;

        if (!entry)
                return ds_err_set(e, -EINVAL, "snapshot", "no trusted timestamp");
        if ((r = update_role(t, TUF_SNAPSHOT, text, len, now_s, entry, e)) == 0) {
                /* every file the old snapshot named is still there, not older */
                json_object_foreach((json_t *)oldm, k, v) {
                        const json_t *n = meta_entry(t, TUF_SNAPSHOT, k);
                        if (!n || json_integer_value(json_object_get(n, "version")) < json_integer_value(json_object_get(v, "version"))) {
                                r = ds_err_set(e, -EINVAL, "snapshot", "the snapshot names '%s' older than before (rollback)", k);
                                set(t, TUF_SNAPSHOT, json_incref(keep));
                                break;
                        }
                }
        }
        json_decref(keep);
        return r;
}

int tuf_update_targets(struct tuf_trusted *t, const char *text, size_t len, int64_t now_s, struct ds_err *e)
{
        const json_t *entry = meta_entry(t, TUF_SNAPSHOT, "targets.json");

        if (!entry)
                return ds_err_set(e, -EINVAL, "targets", "no trusted snapshot naming targets.json");
        return update_role(t, TUF_TARGETS, text, len, now_s, entry, e);
}

const json_t *tuf_target(const struct tuf_trusted *t, const char *name)
{
        return json_object_get(json_object_get(json_object_get(t->meta[TUF_TARGETS], "signed"), "targets"), name);
}

void tuf_trusted_free(struct tuf_trusted *t)
{
        for (int i = 0; i < TUF_N_ROLES; i++)
                set(t, (enum tuf_role)i, NULL);
}
