/* verify.c - runs the shared verifier (common/seal_verify.c) over the store. logd
 * itself never holds the off-device key: log.verify checks structure, chain, seal
 * order and what logd knows it wrote; devctl checks the seals with the key.
 * A store that was started anew (factory reset) holds more than one chain: each
 * is verified on its own; every chain but the last is closed and must be sealed
 * to its end, and only the last one is compared with what logd says it wrote. */
#include <stdlib.h>

#include "logd.h"

int logd_store_verify(const logd_store_t *s, const struct seal_vkey *key, struct seal_result *ret)
{
        struct logd_store_info in;
        struct seal_claims claims;
        seal_verifier_t *v = NULL;
        logd_cursor_t *c = NULL;
        uint32_t chains = 0;
        uint64_t chain_first = 0;
        bool stopped = false;
        size_t last_start = 0;
        int r;

        logd_store_info(s, &in);
        claims =
                (struct seal_claims){.last_seq = in.last_seq, .sealed_seq = in.sealed_seq, .seals_made = in.seals_made};
        if ((r = logd_cursor_new(s, &c)) < 0)
                return r;
        /* where the last chain starts: only that one is what logd says it wrote */
        for (size_t i = 1; i < in.segments; i++) {
                const char *name, *buf;
                size_t len;
                if (logd_cursor_seek_segment(c, i) < 0)
                        continue;
                logd_cursor_segment(c, &name, &buf, &len);
                if (seal_seg_starts_chain(buf, len))
                        last_start = i;
        }
        for (size_t i = 0; i < in.segments && !stopped; i++) {
                const char *name, *buf;
                size_t len;
                /* an unreadable segment is fed empty: the verifier names it as a bad one */
                r = logd_cursor_seek_segment(c, i);
                logd_cursor_segment(c, &name, &buf, &len);
                if (r < 0)
                        buf = "", len = 0;
                if (!v || (i > 0 && seal_seg_starts_chain(buf, len))) {
                        if (v) {
                                /* the chain before is closed: sealed to its end */
                                seal_verifier_finish(v, ret);
                                seal_verifier_destroy(&v);
                                seal_chain_closed(ret);
                                if (ret->kind != SEAL_V_OK)
                                        goto out;
                        }
                        if ((r = seal_verifier_new(key, NULL, i >= last_start ? &claims : NULL, &v)) < 0) {
                                logd_cursor_destroy(&c);
                                return r;
                        }
                        chains++;
                        chain_first =
                                len >= SEAL_SEG_HDR_LEN && seal_seg_header_parse(buf, len, &chain_first, NULL) == 0
                                        ? chain_first
                                        : 0;
                }
                stopped = seal_verifier_segment(v, name, buf, len) != 0;
        }
        if (!v && (r = seal_verifier_new(key, NULL, &claims, &v)) < 0) {
                logd_cursor_destroy(&c);
                return r;
        }
        seal_verifier_finish(v, ret);
out:
        ret->chains = chains ? chains : 1;
        ret->chain_first = chain_first;
        seal_verifier_destroy(&v);
        logd_cursor_destroy(&c);
        return 0;
}
