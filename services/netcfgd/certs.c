/* certs.c - the device CA and server certificate (EC P-256) with OpenSSL:
 * create, describe, export the root, import an externally signed pair.
 * Private keys are written 0600 and never leave this file's functions. */
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"
#include "util.h"

#define CERT_MAX_FILE (256 * 1024)

static EVP_PKEY *gen_key(void)
{
        return EVP_EC_gen("P-256");
}

static int add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
        X509V3_CTX v3;
        X509_EXTENSION *ex;
        int ok;

        X509V3_set_ctx(&v3, issuer, subject, NULL, NULL, 0);
        ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
        if (!ex)
                return -EINVAL;
        ok = X509_add_ext(subject, ex, -1);
        X509_EXTENSION_free(ex);
        return ok ? 0 : -ENOMEM;
}

static int set_serial(X509 *x)
{
        unsigned char b[16];
        BIGNUM *bn;
        int ok;

        ds_random(b, sizeof b);
        b[0] &= 0x7f; /* positive */
        b[0] |= 0x01;
        bn = BN_bin2bn(b, sizeof b, NULL);
        ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
        BN_free(bn);
        return ok ? 0 : -ENOMEM;
}

/* A certificate for key, subject CN, issued by (issuer, ikey); self-signed when issuer is NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int days, const char *san)
{
        X509 *x = X509_new();
        X509_NAME *name;
        int r = 0;

        if (!x)
                return NULL;
        name = X509_get_subject_name(x);
        if (!X509_set_version(x, 2) || set_serial(x) < 0 || !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) || !X509_set_pubkey(x, key) ||
            !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"devsec", -1, -1, 0) ||
            !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
            !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name))
                goto fail;
        if (!issuer) {
                r = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
                if (!r) r = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
                if (!r) r = add_ext(x, x, NID_subject_key_identifier, "hash");
                if (!r) r = add_ext(x, x, NID_authority_key_identifier, "keyid:always");
        } else {
                r = add_ext(issuer, x, NID_basic_constraints, "critical,CA:FALSE");
                if (!r) r = add_ext(issuer, x, NID_key_usage, "critical,digitalSignature,keyAgreement");
                if (!r) r = add_ext(issuer, x, NID_ext_key_usage, "serverAuth");
                if (!r) r = add_ext(issuer, x, NID_subject_key_identifier, "hash");
                if (!r) r = add_ext(issuer, x, NID_authority_key_identifier, "keyid:always");
                if (!r) r = add_ext(issuer, x, NID_subject_alt_name, san);
        }
        if (r < 0 || !X509_sign(x, issuer ? ikey : key, EVP_sha256()))
                goto fail;
        return x;
fail:
        X509_free(x);
        return NULL;
}

static int write_pem(const char *dir, const char *name, X509 *x, EVP_PKEY *k)
{
        BIO *b = BIO_new(BIO_s_mem());
        char *data;
        long len;
        int r = -ENOMEM;

        if (!b)
                return -ENOMEM;
        if (x ? PEM_write_bio_X509(b, x) : PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)) {
                len = BIO_get_mem_data(b, &data);
                r = state_write(dir, name, data, (size_t)len, x ? 0644 : 0600);
                if (!x)
                        OPENSSL_cleanse(data, (size_t)len);
        }
        BIO_free(b);
        return r;
}

/* A PEM certificate (key false) or private key from dir; NULL when it is
 * missing or unusable. The buffer is wiped: it may hold a key. */
static void *read_pem(const char *dir, const char *name, bool key)
{
        char *buf = NULL;
        size_t len;
        void *obj = NULL;
        BIO *b;

        if (state_read(dir, name, CERT_MAX_FILE, &buf, &len) < 0)
                return NULL;
        if ((b = BIO_new_mem_buf(buf, (int)len))) {
                obj = key ? (void *)PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
                          : (void *)PEM_read_bio_X509(b, NULL, NULL, NULL);
                BIO_free(b);
        }
        OPENSSL_cleanse(buf, len);
        free(buf);
        return obj;
}

static X509 *read_cert(const char *dir, const char *name)
{
        return read_pem(dir, name, false);
}

static EVP_PKEY *read_key(const char *dir, const char *name)
{
        return read_pem(dir, name, true);
}

/* "DNS:a,DNS:b,IP:1.2.3.4" */
static char *san_string(const char *const *dns, const char *const *ips)
{
        size_t cap = 1, off = 0;
        char *s;

        for (const char *const *p = dns; p && *p; p++)
                cap += strlen(*p) + 5;
        for (const char *const *p = ips; p && *p; p++)
                cap += strlen(*p) + 4;
        s = malloc(cap);
        if (!s)
                return NULL;
        s[0] = '\0';
        for (const char *const *p = dns; p && *p; p++)
                off += (size_t)snprintf(s + off, cap - off, "%sDNS:%s", off ? "," : "", *p);
        for (const char *const *p = ips; p && *p; p++)
                off += (size_t)snprintf(s + off, cap - off, "%sIP:%s", off ? "," : "", *p);
        return s;
}

int certs_create(const char *dir, const struct cert_req *req, struct ds_err *e)
{
        EVP_PKEY *cakey = NULL, *key = NULL;
        X509 *ca = NULL, *srv = NULL;
        char *san = NULL, cn[80];
        bool fresh_ca = false;
        int r;

        if ((!req->dns || !req->dns[0]) && (!req->ips || !req->ips[0]))
                return ds_err_set(e, -EINVAL, "dns", "the certificate needs at least one DNS name or IP address");
        r = state_mkdir_p(dir, 0700);
        if (r < 0)
                return ds_err_set(e, r, NULL, "cannot create '%s': %s", dir, strerror(-r));
        if (!req->new_ca) {
                ca = read_cert(dir, "ca.pem");
                cakey = read_key(dir, "ca.key");
                if (ca && cakey && (X509_check_private_key(ca, cakey) != 1 || X509_cmp_current_time(X509_get0_notAfter(ca)) <= 0)) {
                        X509_free(ca);
                        EVP_PKEY_free(cakey);
                        ca = NULL;
                        cakey = NULL;
                }
        }
        if (!ca || !cakey) {
                X509_free(ca);
                EVP_PKEY_free(cakey);
                snprintf(cn, sizeof cn, "%s device CA", req->cn);
                cakey = gen_key();
                ca = cakey ? make_cert(cakey, cn, NULL, NULL, 3650, NULL) : NULL;
                fresh_ca = true;
        }
        san = san_string(req->dns, req->ips);
        key = gen_key();
        if (!ca || !san || !key || !(srv = make_cert(key, req->cn, ca, cakey, req->days, san))) {
                r = ds_err_set(e, -DS_EINTERNAL, NULL, "cannot create the certificate: %s",
                               ERR_reason_error_string(ERR_get_error()) ?: "OpenSSL error");
                goto out;
        }
        if ((fresh_ca && ((r = write_pem(dir, "ca.key", NULL, cakey)) < 0 || (r = write_pem(dir, "ca.pem", ca, NULL)) < 0)) ||
            (r = write_pem(dir, "server.key", NULL, key)) < 0 || (r = write_pem(dir, "server.pem", srv, NULL)) < 0) {
                r = ds_err_set(e, r, NULL, "cannot write the certificate files in '%s': %s", dir, strerror(-r));
                goto out;
        }
        r = 0;
out:
        ERR_clear_error();
        free(san);
        X509_free(ca);
        X509_free(srv);
        EVP_PKEY_free(cakey);
        EVP_PKEY_free(key);
        return r;
}

static void write_name(struct mpw *w, const char *k, const X509_NAME *n)
{
        char buf[512];

        X509_NAME_oneline(n, buf, sizeof buf);
        mpw_kv_str(w, k, buf);
}

static void write_time(struct mpw *w, const char *k, const ASN1_TIME *t)
{
        struct tm tm;
        char buf[40];

        if (ASN1_TIME_to_tm(t, &tm) != 1) {
                mpw_kv_str(w, k, "?");
                return;
        }
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        mpw_kv_str(w, k, buf);
}

static void write_san(struct mpw *w, X509 *x)
{
        GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);

        mpw_str(w, "san");
        mpw_arr_begin(w);
        for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
                char buf[300];

                if (g->type == GEN_DNS) {
                        snprintf(buf, sizeof buf, "DNS:%.*s", ASN1_STRING_length(g->d.dNSName),
                                 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
                        mpw_str(w, buf);
                } else if (g->type == GEN_IPADD) {
                        const ASN1_OCTET_STRING *o = g->d.iPAddress;
                        char ip[INET6_ADDRSTRLEN];
                        int af = o->length == 4 ? AF_INET : o->length == 16 ? AF_INET6 : 0;

                        if (af && inet_ntop(af, o->data, ip, sizeof ip))
                                snprintf(buf, sizeof buf, "IP:%s", ip);
                        else
                                snprintf(buf, sizeof buf, "IP:?");
                        mpw_str(w, buf);
                }
        }
        mpw_arr_end(w);
        GENERAL_NAMES_free(gens);
}

int certs_describe(const char *dir, const char *name, struct mpw *w)
{
        X509 *x = read_cert(dir, name);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char fp[EVP_MAX_MD_SIZE * 3 + 1];

        mpw_kv_bool(w, "present", x != NULL);
        if (!x)
                return 0;
        write_name(w, "subject", X509_get_subject_name(x));
        write_name(w, "issuer", X509_get_issuer_name(x));
        write_san(w, x);
        X509_digest(x, EVP_sha256(), md, &mdlen);
        for (unsigned i = 0; i < mdlen; i++)
                snprintf(fp + 3 * i, sizeof fp - 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
        fp[mdlen ? 3 * mdlen - 1 : 0] = '\0';
        mpw_kv_str(w, "fingerprint_sha256", fp);
        write_time(w, "not_before", X509_get0_notBefore(x));
        write_time(w, "not_after", X509_get0_notAfter(x));
        mpw_kv_bool(w, "expired", X509_cmp_current_time(X509_get0_notAfter(x)) <= 0);
        X509_free(x);
        return 0;
}

int certs_read_root(const char *dir, char **ret)
{
        X509 *x = read_cert(dir, "ca.pem");
        BIO *b;
        char *data;
        long len;
        int r = -ENOMEM;

        if (!x)
                return -ENOENT;
        if ((b = BIO_new(BIO_s_mem())) && PEM_write_bio_X509(b, x)) {
                len = BIO_get_mem_data(b, &data);
                if ((*ret = strndup(data, (size_t)len)))
                        r = 0;
        }
        BIO_free(b);
        X509_free(x);
        return r;
}

static STACK_OF(X509) *read_chain(const char *pem)
{
        STACK_OF(X509) *sk = sk_X509_new_null();
        BIO *b = BIO_new_mem_buf(pem, -1);
        X509 *x;

        while (sk && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
                if (!sk_X509_push(sk, x))
                        X509_free(x);
        ERR_clear_error();
        BIO_free(b);
        return sk;
}

int certs_import(const char *dir, const char *cert_pem, const char *key_pem, const char *chain_pem,
                 const char *const *dns, const char *const *ips, struct ds_err *e)
{
        STACK_OF(X509) *certs = read_chain(cert_pem), *chain = NULL;
        X509_STORE *store = NULL;
        X509_STORE_CTX *vctx = NULL;
        EVP_PKEY *key = NULL;
        X509 *leaf;
        BIO *b;
        int r;

        if (!certs || sk_X509_num(certs) < 1) {
                r = ds_err_set(e, -EINVAL, "cert", "not a PEM certificate");
                goto out;
        }
        leaf = sk_X509_value(certs, 0);
        if ((b = BIO_new_mem_buf(key_pem, -1))) {
                key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
                BIO_free(b);
        }
        if (!key) {
                r = ds_err_set(e, -EINVAL, "key", "not a PEM private key (unencrypted)");
                goto out;
        }
        if (X509_check_private_key(leaf, key) != 1) {
                r = ds_err_set(e, -EINVAL, "key", "the key does not match the certificate");
                goto out;
        }
        if (X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
                r = ds_err_set(e, -EINVAL, "cert", "the certificate has expired");
                goto out;
        }
        if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
                r = ds_err_set(e, -EINVAL, "cert", "the certificate is not valid yet");
                goto out;
        }
        for (const char *const *p = dns; p && *p; p++)
                if (X509_check_host(leaf, *p, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
                        r = ds_err_set(e, -EINVAL, "cert", "the SAN does not cover the device name '%s'", *p);
                        goto out;
                }
        for (const char *const *p = ips; p && *p; p++)
                if (X509_check_ip_asc(leaf, *p, 0) != 1) {
                        r = ds_err_set(e, -EINVAL, "cert", "the SAN does not cover the device address '%s'", *p);
                        goto out;
                }
        /* chain: intermediates after the leaf, anchors from the chain argument
         * and the system trust store */
        store = X509_STORE_new();
        vctx = X509_STORE_CTX_new();
        if (!store || !vctx) {
                r = -ENOMEM;
                goto out;
        }
        X509_STORE_set_default_paths(store);
        if (chain_pem && *chain_pem) {
                chain = read_chain(chain_pem);
                for (int i = 0; chain && i < sk_X509_num(chain); i++)
                        X509_STORE_add_cert(store, sk_X509_value(chain, i));
        }
        {
                STACK_OF(X509) *untrusted = sk_X509_dup(certs);
                if (untrusted)
                        (void)sk_X509_shift(untrusted); /* the leaf itself */
                if (!X509_STORE_CTX_init(vctx, store, leaf, untrusted)) {
                        sk_X509_free(untrusted);
                        r = -ENOMEM;
                        goto out;
                }
                X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER);
                r = X509_verify_cert(vctx);
                sk_X509_free(untrusted);
        }
        if (r != 1) {
                r = ds_err_set(e, -EINVAL, "cert", "the chain does not verify: %s",
                               X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx)));
                goto out;
        }
        r = state_mkdir_p(dir, 0700);
        if (r == 0)
                r = write_pem(dir, "server.key", NULL, key);
        if (r == 0) {
                /* the whole chain as given, leaf first */
                BIO *o = BIO_new(BIO_s_mem());
                char *data;
                long len;
                r = -ENOMEM;
                if (o) {
                        bool ok = true;
                        for (int i = 0; i < sk_X509_num(certs); i++)
                                ok &= PEM_write_bio_X509(o, sk_X509_value(certs, i)) == 1;
                        len = BIO_get_mem_data(o, &data);
                        r = ok ? state_write(dir, "server.pem", data, (size_t)len, 0644) : -ENOMEM;
                        BIO_free(o);
                }
        }
        if (r < 0)
                r = ds_err_set(e, r, NULL, "cannot write the certificate files in '%s': %s", dir, strerror(-r));
out:
        ERR_clear_error();
        X509_STORE_CTX_free(vctx);
        X509_STORE_free(store);
        sk_X509_pop_free(chain, X509_free);
        sk_X509_pop_free(certs, X509_free);
        EVP_PKEY_free(key);
        return r;
}
