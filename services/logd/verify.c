/* verify.c - runs the shared verifier (common/seal_verify.c) over the store. logd
 * itself never holds the off-device key: log.verify checks structure, chain, seal
 * order and what logd knows it wrote; devctl checks the seals with the key. */
#include <stdlib.h>

#include "logd.h"

int logd_store_verify(const logd_store_t *s, const struct seal_vkey *key, struct seal_result *ret)
{
        struct logd_store_info in;
        struct seal_claims claims;
        seal_verifier_t *v = NULL;
        logd_cursor_t *c = NULL;
        int r;

        logd_store_info(s, &in);
        claims = (struct seal_claims){ .last_seq = in.last_seq, .sealed_seq = in.sealed_seq, .seals_made = in.seals_made };
        if ((r = logd_cursor_new(s, &c)) < 0 || (r = seal_verifier_new(key, NULL, &claims, &v)) < 0) {
                logd_cursor_destroy(&c);
                return r;
        }
        for (size_t i = 0; i < in.segments; i++) {
                const char *name, *buf;
                size_t len;
                /* an unreadable segment is fed empty: the verifier names it as a bad one */
                r = logd_cursor_seek_segment(c, i);
                logd_cursor_segment(c, &name, &buf, &len);
                if (seal_verifier_segment(v, name, r < 0 ? "" : buf, r < 0 ? 0 : len))
                        break;
        }
        seal_verifier_finish(v, ret);
        seal_verifier_destroy(&v);
        logd_cursor_destroy(&c);
        return 0;
}
