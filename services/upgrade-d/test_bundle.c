/* test_bundle.c - bundles end to end without a bus: create, verify, extract;
 * each way a bundle must be refused (tampered byte, wrong signer, S/MIME-only
 * or EKU-less signer, truncated, trailing data, '../' in a signed manifest,
 * links in the input); anti-rollback counters and the version policy */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/cms.h>

#include "state.h"
#include "upgrade.h"
#include "test_pki.h"

static char root[256];

static void put(const char *rel, const char *text, mode_t mode)
{
        char p[512];
        FILE *f;

        snprintf(p, sizeof p, "%s/%s", root, rel);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        chmod(p, mode);
}

static char *pth(const char *rel)
{
        static char bufs[4][512];
        static int i;
        char *b = bufs[i++ % 4];

        snprintf(b, 512, "%s/%s", root, rel);
        return b;
}

static int setup(void **s)
{
        (void)s;
        snprintf(root, sizeof root, "/tmp/upg-unit-XXXXXX");
        assert_non_null(mkdtemp(root));
        pki_make(root);
        mkdir(pth("comp"), 0755);
        mkdir(pth("comp/share"), 0755);
        put("comp/timed", "#!/bin/false\nthe binary\n", 0755);
        put("comp/share/timed.8", "a man page\n", 0644);
        return 0;
}

static int teardown(void **s)
{
        (void)s;
        state_remove_tree(AT_FDCWD, root);
        return 0;
}

static int make(const char *out, const char *signer, const char *version, uint64_t sv, struct ds_err *e)
{
        struct bundle_input in = { .name = "timed", .version = version, .security_version = sv, .dir = pth("comp") };
        char key[512], cert[512];

        snprintf(key, sizeof key, "%s/%s.key", root, signer);
        snprintf(cert, sizeof cert, "%s/%s.pem", root, signer);
        memset(e, 0, sizeof *e);
        return bundle_create(&in, 1, 1, 1, key, cert, NULL, pth(out), e);
}

static int check(const char *file, struct ds_err *e)
{
        X509_STORE *trust = NULL;
        struct bundle *b = NULL;
        int r;

        memset(e, 0, sizeof *e);
        assert_int_equal(bundle_trust_load(pth("trust"), &trust, e), 0);
        r = bundle_open(pth(file), trust, &b, e);
        if (r == 0)
                r = bundle_verify_payload(b, e);
        bundle_close(&b);
        X509_STORE_free(trust);
        return r;
}

/* A bundle opened against the trust dir, for the tests that look inside. */
struct opened {
        struct ds_err e;
        X509_STORE *trust;
        struct bundle *b;
};

static void open_ok(struct opened *o, const char *file)
{
        assert_int_equal(bundle_trust_load(pth("trust"), &o->trust, &o->e), 0);
        assert_int_equal(bundle_open(pth(file), o->trust, &o->b, &o->e), 0);
}

static void close_ok(struct opened *o)
{
        bundle_close(&o->b);
        X509_STORE_free(o->trust);
        o->trust = NULL;
}

static void *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf;
        long n;

        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static void spit(const char *path, const void *p, size_t n)
{
        FILE *f = fopen(path, "wb");

        assert_non_null(f);
        assert_int_equal(fwrite(p, 1, n, f), n);
        fclose(f);
}

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A CMS signature by any certificate, bypassing bundle_sign()'s own EKU check. */
static uint8_t *raw_sign(const char *signer, const void *data, size_t len, size_t *ret_len)
{
        char p[512];
        FILE *f;
        X509 *x;
        EVP_PKEY *k;
        BIO *in = BIO_new_mem_buf(data, (int)len);
        CMS_ContentInfo *cms;
        unsigned char *der = NULL;
        uint8_t *out;
        int n;

        snprintf(p, sizeof p, "%s/%s.pem", root, signer);
        f = fopen(p, "r");
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        snprintf(p, sizeof p, "%s/%s.key", root, signer);
        f = fopen(p, "r");
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        cms = CMS_sign(x, k, NULL, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP);
        assert_non_null(cms);
        n = i2d_CMS_ContentInfo(cms, &der);
        assert_true(n > 0);
        out = malloc((size_t)n);
        memcpy(out, der, (size_t)n);
        *ret_len = (size_t)n;
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
        BIO_free(in);
        X509_free(x);
        EVP_PKEY_free(k);
        return out;
}

/* Rewrites src into dst with another manifest (NULL: the same) signed by signer. */
static void resign(const char *src, const char *dst, const char *manifest, const char *signer)
{
        size_t len, slen;
        uint8_t *b = slurp(pth(src), &len), *sig, hdr[20];
        uint32_t mlen = be32(b + 12), olen = be32(b + 16);
        const char *man = manifest ? manifest : (const char *)b + 20;
        size_t nm = manifest ? strlen(manifest) : mlen;
        FILE *f;

        sig = raw_sign(signer, man, nm, &slen);
        memcpy(hdr, b, 12);
        hdr[12] = (uint8_t)(nm >> 24), hdr[13] = (uint8_t)(nm >> 16), hdr[14] = (uint8_t)(nm >> 8), hdr[15] = (uint8_t)nm;
        hdr[16] = (uint8_t)(slen >> 24), hdr[17] = (uint8_t)(slen >> 16), hdr[18] = (uint8_t)(slen >> 8), hdr[19] = (uint8_t)slen;
        f = fopen(pth(dst), "wb");
        fwrite(hdr, 1, 20, f);
        fwrite(man, 1, nm, f);
        fwrite(sig, 1, slen, f);
        fwrite(b + 20 + mlen + olen, 1, len - 20 - mlen - olen, f);
        fclose(f);
        free(sig);
        free(b);
}

static void t_good(void **s)
{
        struct opened o = { 0 };
        struct stat st;
        size_t n;
        char *t;

        (void)s;
        assert_int_equal(make("good.bundle", "code", "1.0.1", 2, &o.e), 0);
        open_ok(&o, "good.bundle");
        assert_true(o.b->signature_checked);
        assert_non_null(strstr(o.b->signer, "CN=code"));
        assert_int_equal(o.b->m.n_comps, 1);
        assert_string_equal(o.b->m.comps[0].version, "1.0.1");
        assert_int_equal(o.b->m.comps[0].security_version, 2);
        assert_int_equal(o.b->m.comps[0].n_files, 2);
        assert_string_equal(o.b->m.comps[0].files[0].path, "share/timed.8");
        assert_string_equal(o.b->m.comps[0].files[1].path, "timed");
        assert_int_equal(o.b->m.comps[0].files[1].mode, 0755);
        assert_int_equal(bundle_verify_payload(o.b, &o.e), 0);
        assert_int_equal(bundle_extract(o.b, "timed", pth("out"), &o.e), 0);
        t = slurp(pth("out/timed"), &n);
        assert_int_equal(n, strlen("#!/bin/false\nthe binary\n"));
        assert_memory_equal(t, "#!/bin/false\nthe binary\n", n);
        free(t);
        assert_int_equal(stat(pth("out/timed"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(stat(pth("out/share/timed.8"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        /* never over an existing directory; never a component it does not hold */
        assert_int_equal(bundle_extract(o.b, "timed", pth("out"), &o.e), -EEXIST);
        assert_int_equal(bundle_extract(o.b, "authd", pth("out2"), &o.e), -ENOENT);
        assert_string_equal(o.e.field, "component");
        close_ok(&o);
        state_remove_tree(AT_FDCWD, pth("out"));
}

/* In small steps, as the daemon runs it on its loop: the same result. */
static void t_steps(void **s)
{
        struct opened o = { 0 };
        struct bundle_cursor c;
        int r, n = 0;
        size_t len;
        char *t;

        (void)s;
        assert_int_equal(make("st.bundle", "code", "1.0.1", 2, &o.e), 0);
        open_ok(&o, "st.bundle");
        assert_int_equal(bundle_verify_begin(o.b, &c, &o.e), 0);
        while ((r = bundle_step(o.b, &c, 5, &o.e)) > 0)
                n++;
        assert_int_equal(r, 0);
        assert_true(n >= 2); /* one read per file at most per step here */
        bundle_cursor_end(&c, false);
        assert_int_equal(bundle_extract_begin(o.b, "timed", pth("stout"), &c, &o.e), 0);
        while ((r = bundle_step(o.b, &c, 3, &o.e)) > 0)
                ;
        assert_int_equal(r, 0);
        bundle_cursor_end(&c, false);
        t = slurp(pth("stout/share/timed.8"), &len);
        assert_int_equal(len, strlen("a man page\n"));
        free(t);
        state_remove_tree(AT_FDCWD, pth("stout"));
        /* an extraction abandoned half-way leaves nothing */
        assert_int_equal(bundle_extract_begin(o.b, "timed", pth("stout"), &c, &o.e), 0);
        assert_int_equal(bundle_step(o.b, &c, 3, &o.e), 1);
        bundle_cursor_end(&c, true);
        assert_int_equal(access(pth("stout"), F_OK), -1);
        close_ok(&o);
}

static void t_tampered(void **s)
{
        struct opened o = { 0 };
        struct stat st;
        size_t n;
        uint8_t *p;

        (void)s;
        assert_int_equal(make("t.bundle", "code", "1.0.1", 2, &o.e), 0);
        p = slurp(pth("t.bundle"), &n);
        p[n - 3] ^= 0x01; /* inside the binary */
        spit(pth("tp.bundle"), p, n);
        assert_int_equal(check("tp.bundle", &o.e), -EINVAL);
        assert_string_equal(o.e.field, "sha256");
        assert_non_null(strstr(o.e.msg, "timed/timed"));
        /* extraction hashes too: nothing is left behind */
        open_ok(&o, "tp.bundle");
        assert_int_equal(bundle_extract(o.b, "timed", pth("outt"), &o.e), -EINVAL);
        assert_int_equal(stat(pth("outt"), &st), -1);
        close_ok(&o);
        p[n - 3] ^= 0x01;
        p[30] ^= 0x20; /* inside the manifest: the signature no longer holds */
        spit(pth("tm.bundle"), p, n);
        assert_int_equal(check("tm.bundle", &o.e), -EINVAL);
        assert_string_equal(o.e.field, "signature");
        free(p);
}

static void t_wrong_signer(void **s)
{
        struct ds_err e;

        (void)s;
        assert_int_equal(make("o.bundle", "other", "1.0.1", 2, &e), 0);
        assert_int_equal(check("o.bundle", &e), -EINVAL);
        assert_string_equal(e.field, "signature");
        assert_non_null(strstr(e.msg, "trust anchors"));
}

static void t_smime_signer(void **s)
{
        struct ds_err e;

        (void)s;
        /* the tool will not sign with it */
        assert_int_equal(make("sm.bundle", "smime", "1.0.1", 2, &e), -EINVAL);
        assert_string_equal(e.field, "cert");
        /* and a bundle signed with it anyway (chain good, S/MIME purpose) is refused */
        assert_int_equal(make("base.bundle", "code", "1.0.1", 2, &e), 0);
        resign("base.bundle", "sm.bundle", NULL, "smime");
        assert_int_equal(check("sm.bundle", &e), -EINVAL);
        assert_string_equal(e.field, "signature");
        assert_non_null(strstr(e.msg, "code signing"));
        /* no extended key usage at all ("any" to OpenSSL) is not code signing either */
        resign("base.bundle", "none.bundle", NULL, "none");
        assert_int_equal(check("none.bundle", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "code signing"));
        /* the resigning itself is sound: with the code signer it passes */
        resign("base.bundle", "re.bundle", NULL, "code");
        assert_int_equal(check("re.bundle", &e), 0);
}

static void t_truncated(void **s)
{
        struct ds_err e;
        size_t n;
        uint8_t *p;

        (void)s;
        assert_int_equal(make("tr.bundle", "code", "1.0.1", 2, &e), 0);
        p = slurp(pth("tr.bundle"), &n);
        spit(pth("tr1.bundle"), p, n - 1);
        assert_int_equal(check("tr1.bundle", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "truncated"));
        spit(pth("tr2.bundle"), p, 100);
        assert_int_equal(check("tr2.bundle", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "truncated"));
        spit(pth("tr3.bundle"), p, 7);
        assert_int_equal(check("tr3.bundle", &e), -EINVAL);
        p = realloc(p, n + 1);
        p[n] = 'x';
        spit(pth("tr4.bundle"), p, n + 1);
        assert_int_equal(check("tr4.bundle", &e), -EINVAL);
        assert_non_null(strstr(e.msg, "trailing"));
        free(p);
}

static void t_dotdot(void **s)
{
        static const char *const bad[] = { "../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.", "", "a b", "a\\b", NULL };
        char man[1024];
        struct ds_err e;

        (void)s;
        for (size_t i = 0; bad[i]; i++)
                assert_non_null(bundle_path_check(bad[i]));
        assert_null(bundle_path_check("share/man/timed.8"));
        assert_null(bundle_path_check("..a/b..")); /* names, not parents */
        /* a manifest that names '../' is refused even when properly signed */
        assert_int_equal(make("d.bundle", "code", "1.0.1", 2, &e), 0);
        snprintf(man, sizeof man,
                 "{\"bus_protocol\":{\"max\":1,\"min\":1},\"components\":[{\"files\":[{\"mode\":420,\"path\":\"../../etc/x\","
                 "\"sha256\":\"%064d\",\"size\":11}],\"name\":\"timed\",\"security_version\":2,\"version\":\"1.0.1\"}],\"format\":1}",
                 0);
        resign("d.bundle", "dd.bundle", man, "code");
        assert_int_equal(check("dd.bundle", &e), -EINVAL);
        assert_string_equal(e.field, "components[0].files[0].path");
        /* a set-id mode is refused the same way */
        snprintf(man, sizeof man,
                 "{\"bus_protocol\":{\"max\":1,\"min\":1},\"components\":[{\"files\":[{\"mode\":2541,\"path\":\"timed\","
                 "\"sha256\":\"%064d\",\"size\":11}],\"name\":\"timed\",\"security_version\":2,\"version\":\"1.0.1\"}],\"format\":1}",
                 0);
        resign("d.bundle", "ds.bundle", man, "code");
        assert_int_equal(check("ds.bundle", &e), -EINVAL);
        assert_string_equal(e.field, "components[0].files[0].mode");
}

static void t_links_refused(void **s)
{
        struct ds_err e;

        (void)s;
        assert_int_equal(symlink("/etc/passwd", pth("comp/passwd")), 0);
        assert_int_equal(make("l.bundle", "code", "1.0.1", 2, &e), -EINVAL);
        assert_non_null(strstr(e.msg, "passwd"));
        unlink(pth("comp/passwd"));
        assert_int_equal(access(pth("l.bundle"), F_OK), -1);
}

static void t_versions(void **s)
{
        (void)s;
        assert_null(bundle_version_check("1.0.1"));
        assert_null(bundle_version_check("10"));
        assert_non_null(bundle_version_check("1.0.1-rc1"));
        assert_non_null(bundle_version_check("1..2"));
        assert_non_null(bundle_version_check("1.2.3.4.5"));
        assert_non_null(bundle_version_check(""));
        assert_true(bundle_version_cmp("1.0.10", "1.0.9") > 0);
        assert_true(bundle_version_cmp("1.0", "1.0.0") == 0);
        assert_true(bundle_version_cmp("1.0.1", "1.1") < 0);
}

static void t_rollback(void **s)
{
        struct upg_counters c = { 0 }, c2 = { 0 };
        struct bundle_component b = { .name = "timed" };
        struct ds_err e;
        char *dir = pth("state"), *t;
        size_t n;

        (void)s;
        mkdir(dir, 0700);
        assert_int_equal(upg_counters_load(dir, &c), 0);
        assert_int_equal(c.n, 0);
        /* first install over the base version */
        snprintf(b.version, sizeof b.version, "1.0.1");
        b.security_version = 1;
        assert_int_equal(upg_policy_check(&c, &b, "1.0.0", false, &e), 0);
        assert_int_equal(upg_policy_check(&c, &b, "1.0.1", false, &e), -EEXIST);
        assert_int_equal(upg_counters_commit(&c, "timed", "1.0.2", 3), 0);
        assert_int_equal(upg_counters_save(dir, &c), 0);
        /* the counter never goes down, even if an older one is recorded */
        assert_int_equal(upg_counters_commit(&c, "timed", "1.0.2", 1), 0);
        assert_int_equal(upg_counter_find(&c, "timed")->security_version, 3);
        assert_int_equal(upg_counters_load(dir, &c2), 0);
        assert_int_equal(upg_counter_find(&c2, "timed")->security_version, 3);
        assert_string_equal(upg_counter_find(&c2, "timed")->version, "1.0.2");
        /* lower security version: refused whatever else */
        snprintf(b.version, sizeof b.version, "2.0.0");
        b.security_version = 2;
        assert_int_equal(upg_policy_check(&c2, &b, "1.0.2", true, &e), -EINVAL);
        assert_string_equal(e.field, "security_version");
        /* equal security version, lower version: only with allow_downgrade */
        snprintf(b.version, sizeof b.version, "1.0.1");
        b.security_version = 3;
        assert_int_equal(upg_policy_check(&c2, &b, "1.0.2", false, &e), -EINVAL);
        assert_string_equal(e.field, "version");
        assert_int_equal(upg_policy_check(&c2, &b, "1.0.2", true, &e), 0);
        /* a downgrade that raises the security version is not a downgrade to allow */
        b.security_version = 4;
        assert_int_equal(upg_policy_check(&c2, &b, "1.0.2", true, &e), -EINVAL);
        assert_string_equal(e.field, "security_version");
        snprintf(b.version, sizeof b.version, "1.0.3");
        assert_int_equal(upg_policy_check(&c2, &b, "1.0.2", false, &e), 0);
        /* the write left no temporary file; a damaged file stops installs */
        assert_int_equal(state_read(dir, ".counters.json.tmp", 100, &t, &n), -ENOENT);
        assert_int_equal(state_write(dir, UPG_COUNTERS, "{\"timed\":", 9, 0600), 0);
        upg_counters_free(&c2);
        assert_int_equal(upg_counters_load(dir, &c2), -EBADMSG);
        upg_counters_free(&c);
}

static void t_tables(void **s)
{
        struct ds_err e;

        (void)s;
        assert_int_equal(ds_methods_selftest(upg_methods, &e), 0);
        assert_int_equal(ds_schema_selftest(upg_settings, &e), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(t_good),          cmocka_unit_test(t_steps),         cmocka_unit_test(t_tampered),      cmocka_unit_test(t_wrong_signer),
                cmocka_unit_test(t_smime_signer),  cmocka_unit_test(t_truncated),     cmocka_unit_test(t_dotdot),
                cmocka_unit_test(t_links_refused), cmocka_unit_test(t_versions),      cmocka_unit_test(t_rollback),
                cmocka_unit_test(t_tables),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
