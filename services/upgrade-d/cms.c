/* cms.c - the bundle signature: CMS SignedData (RFC 5652), detached, over the
 * manifest. OpenSSL 3.0 has no code-signing purpose and CMS_verify() checks
 * the S/MIME one unless told otherwise, so the purpose is set explicitly (any:
 * the chain is still checked, CA flags included) and the signer's extended
 * key usage is checked here: it must include code signing. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bundle.h"

static const char *ossl_why(void)
{
        static __thread char buf[160];
        unsigned long l = ERR_peek_last_error();

        if (!l)
                return "unknown reason";
        ERR_error_string_n(l, buf, sizeof buf);
        ERR_clear_error();
        return buf;
}

int bundle_trust_load(const char *dir, X509_STORE **ret, struct ds_err *e)
{
        X509_STORE *st = X509_STORE_new();
        struct dirent *de;
        DIR *d = NULL;
        int n = 0, r;

        if (!st)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        if (!(d = opendir(dir))) {
                r = ds_err_set(e, -errno, "trust_dir", "trust anchors '%s': %s", dir, strerror(errno));
                goto fail;
        }
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                char path[4096];
                X509 *x;
                FILE *f;
                if (l < 5 || strcmp(de->d_name + l - 4, ".pem") || de->d_name[0] == '.')
                        continue;
                if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
                        continue;
                if (!(f = fopen(path, "re")))
                        continue;
                while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
                        X509_STORE_add_cert(st, x);
                        X509_free(x);
                        n++;
                }
                ERR_clear_error();
                fclose(f);
        }
        closedir(d);
        if (n == 0) {
                r = ds_err_set(e, -ENOENT, "trust_dir", "no trust anchor (*.pem) in '%s'", dir);
                goto fail;
        }
        *ret = st;
        return 0;
fail:
        X509_STORE_free(st);
        return r;
}

static bool code_signing(X509 *x)
{
        uint32_t flags = X509_get_extension_flags(x);

        /* no extended key usage at all means "any" to OpenSSL: not enough here */
        return (flags & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(x) & XKU_CODE_SIGN);
}

static X509 *read_cert(const char *path)
{
        FILE *f = fopen(path, "re");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

        if (f)
                fclose(f);
        return x;
}

int bundle_sign(const char *key_pem, const char *cert_pem, const char *chain_pem, const void *data, size_t len,
                uint8_t **ret, size_t *ret_len, struct ds_err *e)
{
        STACK_OF(X509) *chain = NULL;
        EVP_PKEY *key = NULL;
        X509 *cert = NULL, *x;
        CMS_ContentInfo *cms = NULL;
        BIO *in = NULL;
        unsigned char *der = NULL;
        FILE *f;
        int n, r;

        if (!(cert = read_cert(cert_pem))) {
                r = ds_err_set(e, -EINVAL, "cert", "cannot read a certificate from '%s'", cert_pem);
                goto out;
        }
        if (!code_signing(cert)) {
                r = ds_err_set(e, -EINVAL, "cert", "'%s' lacks code signing in its extended key usage", cert_pem);
                goto out;
        }
        if (!(f = fopen(key_pem, "re")) || !(key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
                if (f)
                        fclose(f);
                r = ds_err_set(e, -EINVAL, "key", "cannot read a private key from '%s'", key_pem);
                goto out;
        }
        fclose(f);
        if (!X509_check_private_key(cert, key)) {
                r = ds_err_set(e, -EINVAL, "key", "the key does not match the certificate");
                goto out;
        }
        if (chain_pem) {
                if (!(chain = sk_X509_new_null()) || !(f = fopen(chain_pem, "re"))) {
                        r = ds_err_set(e, -EINVAL, "chain", "cannot read '%s'", chain_pem);
                        goto out;
                }
                while ((x = PEM_read_X509(f, NULL, NULL, NULL)))
                        sk_X509_push(chain, x);
                ERR_clear_error();
                fclose(f);
        }
        in = BIO_new_mem_buf(data, (int)len);
        cms = in ? CMS_sign(cert, key, chain, in, CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP) : NULL;
        if (!cms || (n = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
                r = ds_err_set(e, -DS_EINTERNAL, NULL, "CMS signing failed: %s", ossl_why());
                goto out;
        }
        if (!(*ret = malloc((size_t)n))) {
                r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                goto out;
        }
        memcpy(*ret, der, (size_t)n);
        *ret_len = (size_t)n;
        r = 0;
out:
        OPENSSL_free(der);
        CMS_ContentInfo_free(cms);
        BIO_free(in);
        EVP_PKEY_free(key);
        X509_free(cert);
        sk_X509_pop_free(chain, X509_free);
        return r;
}

int bundle_verify_sig(X509_STORE *trust, const void *sig, size_t sig_len, const void *data, size_t len,
                      char *signer, size_t signer_size, struct ds_err *e)
{
        const unsigned char *p = sig;
        CMS_ContentInfo *cms = NULL;
        STACK_OF(X509) *signers = NULL;
        X509_VERIFY_PARAM *vp;
        BIO *in = NULL;
        int r;

        if (!(cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len)) || p != (const unsigned char *)sig + sig_len) {
                r = ds_err_set(e, -EINVAL, "signature", "not a CMS structure");
                goto out;
        }
        if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed || !CMS_is_detached(cms)) {
                r = ds_err_set(e, -EINVAL, "signature", "not a detached CMS SignedData");
                goto out;
        }
        /* the store's own purpose wins over CMS_verify's S/MIME default */
        vp = X509_STORE_get0_param(trust);
        X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_ANY);
        in = BIO_new_mem_buf(data, (int)len);
        if (!in || CMS_verify(cms, NULL, trust, in, NULL, CMS_BINARY) != 1) {
                r = ds_err_set(e, -EINVAL, "signature", "does not verify against the update trust anchors: %s", ossl_why());
                goto out;
        }
        signers = CMS_get0_signers(cms);
        if (!signers || sk_X509_num(signers) != 1) {
                r = ds_err_set(e, -EINVAL, "signature", "exactly one signer expected");
                goto out;
        }
        if (!code_signing(sk_X509_value(signers, 0))) {
                r = ds_err_set(e, -EINVAL, "signature", "the signer's certificate is not for code signing (extended key usage)");
                goto out;
        }
        if (signer && signer_size) {
                X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), signer, (int)signer_size);
        }
        r = 0;
out:
        ERR_clear_error();
        sk_X509_free(signers);
        BIO_free(in);
        CMS_ContentInfo_free(cms);
        return r;
}
