/* repo.c - devsec-bundle repo: a TUF repository for update servers and tests
 *
 *   repo init DIR [--expires-in S]     keys/ (one Ed25519 key per role, 0600),
 *                                      metadata/{1.root,root,targets,snapshot,timestamp}.json
 *   repo add DIR BUNDLE                copies the bundle to targets/, names it in
 *                                      targets.json (length, sha256, component,
 *                                      version, security_version), signs again
 *   repo sign DIR [--role R] [--expires-in S]
 *                                      a new version of R (default targets) and
 *                                      of the roles above it (snapshot, timestamp)
 *   repo rotate-root DIR               a new root key; root N+1 signed by old and new
 *
 * Metadata is in the TUF specification's format (spec_version 1.0.31, no
 * consistent snapshots), signatures over the canonical JSON of "signed". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "state.h"
#include "tuf.h"
#include "util.h"

int repo_main(int argc, char **argv);

static int64_t expires_in = 365 * 86400;

static int key_load(const char *dir, const char *role, unsigned char sk[64], unsigned char pk[32])
{
        char name[64], *t = NULL, kd[4096];
        size_t len;
        int r;

        snprintf(kd, sizeof kd, "%s/keys", dir);
        snprintf(name, sizeof name, "%s.key", role);
        if ((r = state_read(kd, name, 1024, &t, &len)) < 0)
                return r;
        while (len && (t[len - 1] == '\n'))
                t[--len] = 0;
        r = sodium_hex2bin(sk, 64, t, len, NULL, NULL, NULL) == 0 ? 0 : -EINVAL;
        ds_free_secret(t);
        if (r == 0)
                crypto_sign_ed25519_sk_to_pk(pk, sk);
        return r;
}

static int key_new(const char *dir, const char *role, unsigned char sk[64], unsigned char pk[32])
{
        char name[64], hex[129], kd[4096];
        int r;

        snprintf(kd, sizeof kd, "%s/keys", dir);
        snprintf(name, sizeof name, "%s.key", role);
        crypto_sign_keypair(pk, sk);
        ds_hex(sk, 64, hex);
        hex[128] = '\n';
        if ((r = state_mkdir_p(kd, 0700)) == 0)
                r = state_write(kd, name, hex, 129, 0600);
        sodium_memzero(hex, sizeof hex);
        return r;
}

static json_t *meta_load(const char *dir, const char *name)
{
        char md[4096];

        snprintf(md, sizeof md, "%s/metadata/%s", dir, name);
        return json_load_file(md, JSON_REJECT_DUPLICATES, NULL);
}

static int meta_write(const char *dir, const char *name, json_t *m)
{
        char md[4096], *s = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
        int r;

        snprintf(md, sizeof md, "%s/metadata", dir);
        r = s ? state_mkdir_p(md, 0755) : -ENOMEM;
        if (r == 0)
                r = state_write(md, name, s, strlen(s), 0644);
        free(s);
        return r;
}

static void expires_str(char *buf, size_t size)
{
        int64_t t = time(NULL) + expires_in;
        struct tm tm;
        time_t tt = (time_t)t;

        gmtime_r(&tt, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A new version of role's metadata, signed with its key. */
static int resign(const char *dir, const char *role, json_t *m)
{
        unsigned char sk[64], pk[32];
        json_t *s = json_object_get(m, "signed"), *key;
        char exp[40], name[64];
        int r;

        if ((r = key_load(dir, role, sk, pk)) < 0)
                return r;
        expires_str(exp, sizeof exp);
        json_object_set_new(s, "version", json_integer(json_integer_value(json_object_get(s, "version")) + 1));
        json_object_set_new(s, "expires", json_string(exp));
        json_object_set_new(m, "signatures", json_array());
        key = tuf_key_new(pk);
        r = tuf_sign(m, key, sk);
        json_decref(key);
        sodium_memzero(sk, sizeof sk);
        snprintf(name, sizeof name, "%s.json", role);
        return r < 0 ? r : meta_write(dir, name, m);
}

static void sha256_file_meta(const char *path, json_t *entry)
{
        FILE *f = fopen(path, "rb");
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char buf[65536], h[32];
        char hex[65];
        size_t n, total = 0;
        unsigned hl;

        EVP_DigestInit_ex(md, EVP_sha256(), NULL);
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) {
                EVP_DigestUpdate(md, buf, n);
                total += n;
        }
        EVP_DigestFinal_ex(md, h, &hl);
        EVP_MD_CTX_free(md);
        if (f)
                fclose(f);
        ds_hex(h, 32, hex);
        json_object_set_new(entry, "length", json_integer((json_int_t)total));
        json_object_set_new(entry, "hashes", json_pack("{ss}", "sha256", hex));
}

/* Re-signs from role up: targets -> snapshot -> timestamp. */
static int sign_chain(const char *dir, const char *from)
{
        bool go = false;
        static const char *const order[] = { "targets", "snapshot", "timestamp", NULL };
        int r = 0;

        for (int i = 0; order[i] && r == 0; i++) {
                json_t *m;
                char name[64], path[4096];
                go |= !strcmp(order[i], from);
                if (!go)
                        continue;
                snprintf(name, sizeof name, "%s.json", order[i]);
                if (!(m = meta_load(dir, name)))
                        return -ENOENT;
                if (!strcmp(order[i], "snapshot")) {
                        json_t *t = meta_load(dir, "targets.json");
                        json_object_set_new(json_object_get(json_object_get(m, "signed"), "meta"), "targets.json",
                                            json_pack("{sI}", "version", json_integer_value(json_object_get(json_object_get(t, "signed"), "version"))));
                        json_decref(t);
                } else if (!strcmp(order[i], "timestamp")) {
                        json_t *sn = meta_load(dir, "snapshot.json"), *entry;
                        entry = json_pack("{sI}", "version", json_integer_value(json_object_get(json_object_get(sn, "signed"), "version")));
                        snprintf(path, sizeof path, "%s/metadata/snapshot.json", dir);
                        sha256_file_meta(path, entry);
                        json_object_set_new(json_object_get(json_object_get(m, "signed"), "meta"), "snapshot.json", entry);
                        json_decref(sn);
                }
                r = resign(dir, order[i], m);
                json_decref(m);
        }
        return r;
}

static json_t *role_meta(const char *type)
{
        return json_pack("{s{ss ss sI ss s{}}s[]}", "signed", "_type", type, "spec_version", "1.0.31", "version", (json_int_t)0,
                         "expires", "", !strcmp(type, "targets") ? "targets" : "meta", "signatures");
}

static int root_write(const char *dir, json_t *root)
{
        char name[64];
        int r;

        snprintf(name, sizeof name, "%" JSON_INTEGER_FORMAT ".root.json",
                 json_integer_value(json_object_get(json_object_get(root, "signed"), "version")));
        if ((r = meta_write(dir, name, root)) < 0)
                return r;
        return meta_write(dir, "root.json", root);
}

static int cmd_init(const char *dir)
{
        unsigned char sk[64], pk[32];
        json_t *root = json_pack("{s{ss ss sI ss sb s{} s{}}s[]}", "signed", "_type", "root", "spec_version", "1.0.31",
                                 "version", (json_int_t)1, "expires", "", "consistent_snapshot", 0, "keys", "roles",
                                 "signatures");
        json_t *s = json_object_get(root, "signed"), *rootkey = NULL;
        unsigned char root_sk[64];
        char exp[40], id[65];
        int r = 0;

        for (int i = 0; i < TUF_N_ROLES && r == 0; i++) {
                json_t *key;
                if ((r = key_new(dir, tuf_role_names[i], sk, pk)) < 0)
                        break;
                key = tuf_key_new(pk);
                tuf_keyid(key, id);
                json_object_set_new(json_object_get(s, "keys"), id, key);
                json_object_set_new(json_object_get(s, "roles"), tuf_role_names[i], json_pack("{s[s]sI}", "keyids", id, "threshold", (json_int_t)1));
                if (i == TUF_ROOT) {
                        memcpy(root_sk, sk, 64);
                        rootkey = json_incref(key);
                }
        }
        expires_str(exp, sizeof exp);
        json_object_set_new(s, "expires", json_string(exp));
        if (r == 0)
                r = tuf_sign(root, rootkey, root_sk);
        if (r == 0)
                r = root_write(dir, root);
        sodium_memzero(root_sk, sizeof root_sk);
        json_decref(rootkey);
        json_decref(root);
        for (int i = TUF_TIMESTAMP; i < TUF_N_ROLES && r == 0; i++) {
                json_t *m = role_meta(tuf_role_names[i]);
                char name[64];
                snprintf(name, sizeof name, "%s.json", tuf_role_names[i]);
                r = meta_write(dir, name, m);
                json_decref(m);
        }
        if (r == 0)
                r = sign_chain(dir, "targets");
        return r;
}

static int cmd_add(const char *dir, const char *file)
{
        struct bundle *b = NULL;
        struct ds_err e = { 0 };
        json_t *t, *entry, *comp;
        const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
        char dst[4096], td[4096];
        FILE *in, *out;
        char buf[65536];
        size_t n;
        int r;

        if ((r = bundle_open(file, NULL, &b, &e)) < 0) {
                fprintf(stderr, "devsec-bundle: %s\n", e.msg);
                return r;
        }
        if (snprintf(td, sizeof td, "%s/targets", dir) >= (int)sizeof td ||
            snprintf(dst, sizeof dst, "%s/%s", td, base) >= (int)sizeof dst) {
                bundle_close(&b);
                return -ENAMETOOLONG;
        }
        state_mkdir_p(td, 0755);
        if (!(in = fopen(file, "rb")) || !(out = fopen(dst, "wb"))) {
                if (in)
                        fclose(in);
                bundle_close(&b);
                return -errno;
        }
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
                fwrite(buf, 1, n, out);
        fclose(in);
        fclose(out);
        t = meta_load(dir, "targets.json");
        entry = json_object();
        sha256_file_meta(dst, entry);
        comp = json_pack("{sssssI}", "component", b->m.comps[0].name, "version", b->m.comps[0].version, "security_version",
                         (json_int_t)b->m.comps[0].security_version);
        json_object_set_new(entry, "custom", comp);
        json_object_set_new(json_object_get(json_object_get(t, "signed"), "targets"), base, entry);
        r = meta_write(dir, "targets.json", t);
        json_decref(t);
        bundle_close(&b);
        return r < 0 ? r : sign_chain(dir, "targets");
}

static int cmd_rotate_root(const char *dir)
{
        unsigned char osk[64], opk[32], nsk[64], npk[32];
        json_t *root = meta_load(dir, "root.json"), *s, *okey, *nkey;
        char exp[40], id[65];
        int r;

        if (!root || (r = key_load(dir, "root", osk, opk)) < 0)
                return -ENOENT;
        if ((r = key_new(dir, "root", nsk, npk)) < 0)
                return r;
        s = json_object_get(root, "signed");
        okey = tuf_key_new(opk);
        nkey = tuf_key_new(npk);
        tuf_keyid(nkey, id);
        json_object_set(json_object_get(s, "keys"), id, nkey);
        json_object_set_new(json_object_get(json_object_get(s, "roles"), "root"), "keyids", json_pack("[s]", id));
        json_object_set_new(s, "version", json_integer(json_integer_value(json_object_get(s, "version")) + 1));
        expires_str(exp, sizeof exp);
        json_object_set_new(s, "expires", json_string(exp));
        json_object_set_new(root, "signatures", json_array());
        /* the old root vouches for the new one, the new one for itself */
        r = tuf_sign(root, okey, osk);
        if (r == 0)
                r = tuf_sign(root, nkey, nsk);
        if (r == 0)
                r = root_write(dir, root);
        sodium_memzero(osk, sizeof osk);
        sodium_memzero(nsk, sizeof nsk);
        json_decref(okey);
        json_decref(nkey);
        json_decref(root);
        return r;
}

int repo_main(int argc, char **argv)
{
        const char *role = "targets";
        int r;

        if (sodium_init() < 0)
                return 1;
        if (argc < 3)
                goto usage;
        for (int i = 3; i < argc; i++) {
                if (!strcmp(argv[i], "--expires-in") && i + 1 < argc)
                        expires_in = strtoll(argv[++i], NULL, 10);
                else if (!strcmp(argv[i], "--role") && i + 1 < argc)
                        role = argv[++i];
                else if (strcmp(argv[1], "add") || i != 3)
                        goto usage;
        }
        if (!strcmp(argv[1], "init"))
                r = cmd_init(argv[2]);
        else if (!strcmp(argv[1], "add") && argc >= 4)
                r = cmd_add(argv[2], argv[3]);
        else if (!strcmp(argv[1], "sign"))
                r = strcmp(role, "targets") && strcmp(role, "snapshot") && strcmp(role, "timestamp") ? -EINVAL
                                                                                                   : sign_chain(argv[2], role);
        else if (!strcmp(argv[1], "rotate-root"))
                r = cmd_rotate_root(argv[2]);
        else
                goto usage;
        if (r < 0) {
                fprintf(stderr, "devsec-bundle: repo %s '%s': %s\n", argv[1], argv[2], strerror(-r));
                return 1;
        }
        return 0;
usage:
        fprintf(stderr, "usage: devsec-bundle repo init DIR [--expires-in S]\n"
                        "       devsec-bundle repo add DIR BUNDLE [--expires-in S]\n"
                        "       devsec-bundle repo sign DIR [--role targets|snapshot|timestamp] [--expires-in S]\n"
                        "       devsec-bundle repo rotate-root DIR [--expires-in S]\n");
        return 2;
}
