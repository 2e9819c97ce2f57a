/* verify.c - runs the shared verifier (common/seal.c) over the store. logd itself
 * never holds the off-device key: log.verify checks structure, chain, seal order
 * and what logd knows it wrote; devctl checks the seals with the key. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logd.h"
#include "state.h"
#include "util.h"

int logd_seg_prev(const logd_store_t *s, size_t i, uint8_t prev[LOGD_HASH_LEN])
{
        char *p = path_join(s->dir, s->segs[i].name);
        uint8_t hdr[LOGD_SEG_HDR_LEN];
        ssize_t n;
        int fd;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (fd < 0)
                return -errno;
        n = pread(fd, hdr, sizeof hdr, 0);
        close(fd);
        if (n != (ssize_t)sizeof hdr || memcmp(hdr, LOGD_SEG_MAGIC, 8))
                return -EBADMSG;
        memcpy(prev, hdr + 16, LOGD_HASH_LEN);
        return 0;
}

int logd_store_verify(const logd_store_t *s, const struct seal_vkey *key, struct seal_result *ret)
{
        struct seal_claims claims = {
                .last_seq = s->next_seq - 1,
                .sealed_seq = s->sealed_seq,
                .seals_made = s->seal_n,
        };
        seal_verifier_t *v = NULL;
        int r;

        r = seal_verifier_new(key, NULL, &claims, &v);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_segs; i++) {
                char *buf = NULL;
                size_t len = 0;
                r = logd_seg_load(s, i, &buf, &len);
                if (r < 0) {
                        /* an unreadable segment is named as a bad one */
                        free(buf);
                        buf = NULL;
                        len = 0;
                }
                r = seal_verifier_segment(v, s->segs[i].name, buf ? buf : "", len);
                free(buf);
                if (r)
                        break;
        }
        seal_verifier_finish(v, ret);
        seal_verifier_destroy(&v);
        return 0;
}
