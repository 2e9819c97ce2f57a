/* test_nts_tls.c - the NTS keys come from the TLS exporter with RFC 8915's
 * label and contexts: a TLS 1.3 handshake in memory, and the server's own
 * exports with the context bytes written out here must equal ours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "nts.h"

static X509 *self_signed(EVP_PKEY *k)
{
        X509 *x = X509_new();

        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), -60);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, k);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1,
                                   0);
        X509_set_issuer_name(x, X509_get_subject_name(x));
        X509_sign(x, k, EVP_sha256());
        return x;
}

/* moves bytes between the two memory BIO pairs until both handshakes are done */
static void handshake(SSL *c, SSL *s)
{
        for (int i = 0; i < 100; i++) {
                int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
                if (rc == 1 && rs == 1)
                        return;
        }
        fail_msg("no handshake");
}

static void t_exporter(void **st)
{
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *x = self_signed(k);
        SSL_CTX *cc = SSL_CTX_new(TLS_client_method()), *sc = SSL_CTX_new(TLS_server_method());
        SSL *c, *s;
        BIO *b1, *b2;
        struct nts_keys keys;
        uint8_t c2s[32], s2c[32];
        /* RFC 8915 section 5.1: protocol id 0 (2 bytes), AEAD id 15 (2 bytes), 0 C2S / 1 S2C */
        static const uint8_t ctx_c2s[5] = { 0x00, 0x00, 0x00, 0x0f, 0x00 }, ctx_s2c[5] = { 0x00, 0x00, 0x00, 0x0f, 0x01 };
        static const char label[] = "EXPORTER-network-time-security";

        (void)st;
        assert_non_null(k);
        SSL_CTX_set_min_proto_version(cc, TLS1_3_VERSION);
        SSL_CTX_use_certificate(sc, x);
        SSL_CTX_use_PrivateKey(sc, k);
        c = SSL_new(cc);
        s = SSL_new(sc);
        BIO_new_bio_pair(&b1, 0, &b2, 0);
        SSL_set_bio(c, b1, b1);
        SSL_set_bio(s, b2, b2);
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        handshake(c, s);
        assert_int_equal(SSL_version(c), TLS1_3_VERSION);
        assert_int_equal(nts_export_keys(c, &keys), 0);
        assert_int_equal(SSL_export_keying_material(s, c2s, 32, label, sizeof label - 1, ctx_c2s, 5, 1), 1);
        assert_int_equal(SSL_export_keying_material(s, s2c, 32, label, sizeof label - 1, ctx_s2c, 5, 1), 1);
        assert_memory_equal(keys.c2s, c2s, 32);
        assert_memory_equal(keys.s2c, s2c, 32);
        assert_memory_not_equal(keys.c2s, keys.s2c, 32);
        SSL_free(c);
        SSL_free(s);
        SSL_CTX_free(cc);
        SSL_CTX_free(sc);
        X509_free(x);
        EVP_PKEY_free(k);
}

int main(void)
{
        const struct CMUnitTest tests[] = { cmocka_unit_test(t_exporter) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
