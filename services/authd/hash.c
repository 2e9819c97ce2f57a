/* hash.c - Argon2id password hashes (libsodium) with salt and parameters in each string */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "authd.h"
#include "util.h"

char *authd_hash(const char *pw, const struct authd_cost *cost)
{
        char *h = malloc(crypto_pwhash_STRBYTES);

        if (!h)
                return NULL;
        if (crypto_pwhash_str_alg(h, pw, strlen(pw), cost->opslimit, cost->memlimit,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
                free(h);
                return NULL;
        }
        return h;
}

bool authd_hash_verify(const char *hash, const char *pw)
{
        return hash && crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

bool authd_hash_needs_rehash(const char *hash, const struct authd_cost *cost)
{
        return crypto_pwhash_str_needs_rehash(hash, cost->opslimit, cost->memlimit) != 0;
}

void authd_token_hash(const char *tok, char out[65])
{
        unsigned char h[32];

        crypto_generichash(h, sizeof h, (const unsigned char *)tok, strlen(tok), NULL, 0);
        ds_hex(h, sizeof h, out);
}
