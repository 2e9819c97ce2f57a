/* test_pki.h - a throw-away PKI for the unit tests: a root CA, and leaf
 * certificates with a chosen extended key usage, written as PEM files */
#pragma once
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static void pki_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
        X509V3_CTX v3;
        X509_EXTENSION *ex;

        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
        ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
        X509_add_ext(cert, ex, -1);
        X509_EXTENSION_free(ex);
}

/* A certificate for key, signed by ca_key (self-signed when ca is NULL).
 * eku: NULL for none, else e.g. "codeSigning" or "emailProtection". */
static X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, bool is_ca, const char *eku)
{
        X509 *x = X509_new();
        X509_NAME *n = X509_NAME_new();
        static long serial = 1;

        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
        X509_set_subject_name(x, n);
        X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
        X509_set_pubkey(x, key);
        pki_ext(x, ca ? ca : x, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
        pki_ext(x, ca ? ca : x, NID_key_usage, is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
        if (eku)
                pki_ext(x, ca ? ca : x, NID_ext_key_usage, eku);
        X509_sign(x, ca_key ? ca_key : key, EVP_sha256());
        X509_NAME_free(n);
        return x;
}

static void pki_write_cert(const char *path, X509 *x)
{
        FILE *f = fopen(path, "w");

        PEM_write_X509(f, x);
        fclose(f);
}

static void pki_write_key(const char *path, EVP_PKEY *k)
{
        FILE *f = fopen(path, "w");

        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
        fclose(f);
}

/* dir/trust/ca.pem (the anchor), dir/{code,smime,none,other}.{pem,key}:
 * code signing, S/MIME only, no EKU (all under the anchor), and a code
 * signer under another CA. */
static void pki_make(const char *dir)
{
        char p[4096];
        EVP_PKEY *ca_k = EVP_EC_gen("P-256"), *o_k = EVP_EC_gen("P-256");
        X509 *ca = pki_cert(ca_k, "devsec test update CA", NULL, NULL, true, NULL);
        X509 *other = pki_cert(o_k, "another CA", NULL, NULL, true, NULL);
        static const struct {
                const char *name, *eku;
                bool other;
        } leaves[] = {
                { "code", "codeSigning", false },
                { "smime", "emailProtection", false },
                { "none", NULL, false },
                { "other", "codeSigning", true },
        };

        snprintf(p, sizeof p, "%s/trust", dir);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/trust/ca.pem", dir);
        pki_write_cert(p, ca);
        for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
                EVP_PKEY *k = EVP_EC_gen("P-256");
                X509 *x = pki_cert(k, leaves[i].name, leaves[i].other ? other : ca, leaves[i].other ? o_k : ca_k, false,
                                   leaves[i].eku);
                snprintf(p, sizeof p, "%s/%s.pem", dir, leaves[i].name);
                pki_write_cert(p, x);
                snprintf(p, sizeof p, "%s/%s.key", dir, leaves[i].name);
                pki_write_key(p, k);
                X509_free(x);
                EVP_PKEY_free(k);
        }
        X509_free(ca);
        X509_free(other);
        EVP_PKEY_free(ca_k);
        EVP_PKEY_free(o_k);
}
