/* key.c - the device's SSH client key: Ed25519, generated on the device at
 * first start, kept 0600 in the state dir in OpenSSH's format (what libssh2
 * reads); the public half is what the operator installs on the server. */
#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sftp.h"
#include "state.h"
#include "util.h"

struct sbuf {
        unsigned char b[1024];
        size_t n;
};

static void put_u32(struct sbuf *s, uint32_t v)
{
        s->b[s->n++] = (unsigned char)(v >> 24);
        s->b[s->n++] = (unsigned char)(v >> 16);
        s->b[s->n++] = (unsigned char)(v >> 8);
        s->b[s->n++] = (unsigned char)v;
}

static void put_str(struct sbuf *s, const void *p, size_t n)
{
        put_u32(s, (uint32_t)n);
        memcpy(s->b + s->n, p, n);
        s->n += n;
}

static size_t b64(const unsigned char *in, size_t n, char *out)
{
        return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static void pub_blob(const unsigned char pk[32], struct sbuf *s)
{
        s->n = 0;
        put_str(s, "ssh-ed25519", 11);
        put_str(s, pk, 32);
}

static int load_pub(struct stor_ctx *x)
{
        char *txt = NULL;
        size_t len;
        char *dir = x->d->statedir;
        int r = state_read(dir, "id_ed25519.pub", sizeof x->pubkey - 1, &txt, &len);

        if (r < 0)
                return r;
        while (len && (txt[len - 1] == '\n' || txt[len - 1] == '\r'))
                txt[--len] = 0;
        snprintf(x->pubkey, sizeof x->pubkey, "%s", txt);
        free(txt);
        return strncmp(x->pubkey, "ssh-ed25519 ", 12) ? -EINVAL : 0;
}

int stor_key_ensure(struct stor_ctx *x)
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        struct sbuf pub, priv, file;
        char host[64] = "device", comment[128], *pem = NULL, pubtxt[400], blob64[128];
        size_t b64len, pl = 0;
        uint32_t check;
        int r;

        snprintf(x->key_path, sizeof x->key_path, "%s/id_ed25519", x->d->statedir);
        snprintf(x->pub_path, sizeof x->pub_path, "%s/id_ed25519.pub", x->d->statedir);
        if (access(x->key_path, R_OK) == 0 && load_pub(x) == 0)
                return 0;
        if (sodium_init() < 0)
                return -ENOMEM;
        crypto_sign_keypair(pk, sk); /* sk = seed || pk, as OpenSSH stores it */
        gethostname(host, sizeof host - 1);
        snprintf(comment, sizeof comment, "sftp-storage@%s", host);
        pub_blob(pk, &pub);
        /* the private section: check ints, key, comment, padding 1, 2, 3... */
        ds_random(&check, sizeof check);
        priv.n = 0;
        put_u32(&priv, check);
        put_u32(&priv, check);
        put_str(&priv, "ssh-ed25519", 11);
        put_str(&priv, pk, 32);
        put_str(&priv, sk, 64);
        put_str(&priv, comment, strlen(comment));
        for (unsigned char i = 1; priv.n % 8; i++)
                priv.b[priv.n++] = i;
        file.n = 0;
        memcpy(file.b, "openssh-key-v1", 15);
        file.n = 15;
        put_str(&file, "none", 4);
        put_str(&file, "none", 4);
        put_str(&file, "", 0);
        put_u32(&file, 1);
        put_str(&file, pub.b, pub.n);
        put_str(&file, priv.b, priv.n);
        explicit_bzero(&priv, sizeof priv);
        explicit_bzero(sk, sizeof sk);
        b64len = 4 * ((file.n + 2) / 3);
        if (!(pem = malloc(b64len + b64len / 70 + 128))) {
                explicit_bzero(&file, sizeof file);
                return -ENOMEM;
        }
        char *tmp = malloc(b64len + 1);
        if (!tmp) {
                free(pem);
                explicit_bzero(&file, sizeof file);
                return -ENOMEM;
        }
        b64(file.b, file.n, tmp);
        explicit_bzero(&file, sizeof file);
        pl = (size_t)sprintf(pem, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
        for (size_t i = 0; i < b64len; i += 70) {
                size_t n = b64len - i < 70 ? b64len - i : 70;
                memcpy(pem + pl, tmp + i, n);
                pl += n;
                pem[pl++] = '\n';
        }
        pl += (size_t)sprintf(pem + pl, "-----END OPENSSH PRIVATE KEY-----\n");
        explicit_bzero(tmp, b64len);
        free(tmp);
        r = state_write(x->d->statedir, "id_ed25519", pem, pl, 0600);
        explicit_bzero(pem, pl);
        free(pem);
        if (r < 0)
                return log_errno(r, "client key '%s': %m", x->key_path);
        b64(pub.b, pub.n, blob64);
        snprintf(pubtxt, sizeof pubtxt, "ssh-ed25519 %s %s\n", blob64, comment);
        if ((r = state_write(x->d->statedir, "id_ed25519.pub", pubtxt, strlen(pubtxt), 0644)) < 0)
                return log_errno(r, "public key '%s': %m", x->pub_path);
        log_notice("generated the device's Ed25519 SSH client key (public: %s)", x->pub_path);
        return load_pub(x);
}
