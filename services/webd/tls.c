/* tls.c - netcfgd's certificate and key, handed to GnuTLS per handshake so a
 * new certificate takes effect without closing the listener. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "webd.h"

/* The certificate callback has no user pointer: one webd per process. */
static struct webd_ctx *tls_ctx;

void webd_tls_set_ctx(struct webd_ctx *x)
{
        tls_ctx = x;
}

/* Forward-secret AEAD suites only, TLS 1.2 or 1.3 and nothing older. */
const char *webd_tls_priorities(const char *tls_min)
{
        if (tls_min && !strcmp(tls_min, "1.3"))
                return "NONE:+VERS-TLS1.3:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AEAD:"
                       "+ECDHE-ECDSA:+ECDHE-RSA:+SIGN-ALL:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X25519:"
                       "+COMP-NULL:%SERVER_PRECEDENCE";
        return "NONE:+VERS-TLS1.3:+VERS-TLS1.2:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AEAD:"
               "+ECDHE-ECDSA:+ECDHE-RSA:+SIGN-ALL:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-X25519:"
               "+COMP-NULL:%SERVER_PRECEDENCE:%SAFE_RENEGOTIATION";
}

void webd_cert_free(struct webd_cert *c)
{
        for (unsigned i = 0; i < c->n_pcerts; i++)
                gnutls_pcert_deinit(&c->pcerts[i]);
        free(c->pcerts);
        if (c->key)
                gnutls_privkey_deinit(c->key);
        memset(c, 0, sizeof *c);
}

/* Reads a whole small file (a PEM) below dir; caller owns (wipe for keys). */
static int read_pem(const char *dir, const char *name, gnutls_datum_t *ret)
{
        char path[4096];
        struct stat st;
        ssize_t n;
        int fd, r = 0;

        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 65536) {
                close(fd);
                return -EINVAL;
        }
        ret->data = gnutls_malloc((size_t)st.st_size + 1);
        if (!ret->data) {
                close(fd);
                return -ENOMEM;
        }
        n = read(fd, ret->data, (size_t)st.st_size);
        if (n != st.st_size) {
                r = n < 0 ? -errno : -EIO;
                gnutls_free(ret->data);
                ret->data = NULL;
        } else {
                ret->data[n] = 0;
                ret->size = (unsigned)n;
        }
        close(fd);
        return r;
}

int webd_cert_load(struct webd_ctx *x, struct ds_err *e)
{
        gnutls_datum_t cert = { 0 }, key = { 0 };
        gnutls_x509_crt_t crts[8];
        unsigned n = 8;
        struct webd_cert c = { 0 };
        unsigned char fp[32];
        size_t fplen = sizeof fp;
        int r;

        if ((r = read_pem(x->certdir, "server.pem", &cert)) < 0)
                return ds_err_set(e, r, "server.pem", "cannot read '%s/server.pem': %s", x->certdir, strerror(-r));
        if ((r = read_pem(x->certdir, "server.key", &key)) < 0) {
                gnutls_free(cert.data);
                return ds_err_set(e, r, "server.key", "cannot read '%s/server.key': %s", x->certdir, strerror(-r));
        }
        r = gnutls_x509_crt_list_import(crts, &n, &cert, GNUTLS_X509_FMT_PEM, 0);
        if (r <= 0) {
                r = ds_err_set(e, -EINVAL, "server.pem", "'%s/server.pem': %s", x->certdir,
                               gnutls_strerror(r ? r : GNUTLS_E_NO_CERTIFICATE_FOUND));
                goto out;
        }
        n = (unsigned)r;
        c.pcerts = calloc(n, sizeof *c.pcerts);
        if (!c.pcerts) {
                r = -ENOMEM;
                goto out_crts;
        }
        for (unsigned i = 0; i < n; i++) {
                if ((r = gnutls_pcert_import_x509(&c.pcerts[i], crts[i], 0)) < 0) {
                        r = ds_err_set(e, -EINVAL, "server.pem", "'%s/server.pem': %s", x->certdir, gnutls_strerror(r));
                        goto out_crts;
                }
                c.n_pcerts++;
        }
        if (gnutls_x509_crt_get_fingerprint(crts[0], GNUTLS_DIG_SHA256, fp, &fplen) == 0)
                ds_hex(fp, fplen, c.fingerprint);
        if ((r = gnutls_privkey_init(&c.key)) < 0 ||
            (r = gnutls_privkey_import_x509_raw(c.key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
                r = ds_err_set(e, -EINVAL, "server.key", "'%s/server.key': %s", x->certdir, gnutls_strerror(r));
                goto out_crts;
        }
        /* the key must be the certificate's */
        {
                gnutls_pubkey_t a = NULL, b = NULL;
                unsigned char ida[64], idb[64];
                size_t la = sizeof ida, lb = sizeof idb;
                bool same = gnutls_pubkey_init(&a) == 0 && gnutls_pubkey_init(&b) == 0 &&
                            gnutls_pubkey_import_privkey(a, c.key, 0, 0) == 0 &&
                            gnutls_pubkey_import_x509(b, crts[0], 0) == 0 &&
                            gnutls_pubkey_get_key_id(a, 0, ida, &la) == 0 &&
                            gnutls_pubkey_get_key_id(b, 0, idb, &lb) == 0 && la == lb && !memcmp(ida, idb, la);
                if (a)
                        gnutls_pubkey_deinit(a);
                if (b)
                        gnutls_pubkey_deinit(b);
                if (!same) {
                        r = ds_err_set(e, -EINVAL, "server.key", "'%s/server.key' does not match server.pem", x->certdir);
                        goto out_crts;
                }
        }
        /* the generation before the last one is no longer in any handshake */
        webd_cert_free(&x->old_cert);
        x->old_cert = x->cert;
        x->cert = c;
        memset(&c, 0, sizeof c);
        x->have_cert = true;
        webd_probe_update(x); /* the probe now expects this certificate */
        r = 0;
out_crts:
        for (unsigned i = 0; i < n; i++)
                gnutls_x509_crt_deinit(crts[i]);
out:
        webd_cert_free(&c);
        gnutls_free(cert.data);
        if (key.data) {
                explicit_bzero(key.data, key.size);
                gnutls_free(key.data);
        }
        return r;
}

int webd_cert_callback(gnutls_session_t s, const gnutls_datum_t *req_ca_dn, int n_dn,
                       const gnutls_pk_algorithm_t *algos, int n_algos, gnutls_pcert_st **pcert,
                       unsigned int *n_pcert, gnutls_privkey_t *key)
{
        (void)s;
        (void)req_ca_dn;
        (void)n_dn;
        (void)algos;
        (void)n_algos;
        if (!tls_ctx || !tls_ctx->have_cert)
                return -1;
        *pcert = tls_ctx->cert.pcerts;
        *n_pcert = tls_ctx->cert.n_pcerts;
        *key = tls_ctx->cert.key;
        return 0;
}
