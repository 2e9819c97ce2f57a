/* chain.c - a factory reset of the store: the chain so far is closed with a
 * final record and a final seal, kept or removed, and a new chain starts under
 * a new seal key. The new chain's first segment continues no hash (all zero)
 * and its first record, sealed at once, is a prune record saying the chain
 * starts there: a verifier then takes it as a store of its own (seal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "state.h"
#include "store_impl.h"
#include "util.h"

static int append_note(logd_store_t *s, const char *actor, const char *msg, bool start)
{
        struct seal_rec *rec = logd_own_rec("security", "warning", actor);
        int r;

        if (!rec)
                return -ENOMEM;
        snprintf(rec->msg, sizeof rec->msg, "%s", msg);
        if (start) {
                /* records before this one are not in this chain */
                rec->prune = true;
                rec->prune_first_kept = s->next_seq;
        }
        r = logd_store_append(s, rec);
        free(rec);
        return r;
}

int logd_seg_remove_all(logd_store_t *s)
{
        int r = 0;

        if (s->fd >= 0) {
                close(s->fd);
                s->fd = -1;
        }
        for (size_t i = 0; i < s->n_segs; i++) {
                int q = state_remove(s->dir, s->segs[i].name);
                if (q < 0 && q != -ENOENT && r == 0)
                        r = log_errno(q, "store: remove '%s': %m", s->segs[i].name);
        }
        s->n_segs = 0;
        s->total_bytes = 0;
        s->flushed_size = 0;
        return r;
}

int logd_store_new_chain(logd_store_t *s, const char *actor, const char *end_msg, const char *start_msg, bool wipe,
                         uint64_t *ret_end)
{
        uint64_t end;
        int r;

        if ((r = append_note(s, actor, end_msg, false)) < 0 || (r = logd_store_seal(s)) < 0)
                return log_errno(r, "store: cannot close the chain: %m");
        end = s->next_seq - 1;
        if (wipe && (r = logd_seg_remove_all(s)) < 0)
                return r;
        /* the old key goes, from memory and disk (logd_key_new replaces both files) */
        seal_key_wipe(&s->ks);
        if ((r = logd_key_new(s)) < 0)
                return r;
        memset(s->head, 0, sizeof s->head);
        s->unsealed = 0;
        if ((r = logd_seg_create(s)) < 0)
                return r;
        if ((r = append_note(s, actor, start_msg, true)) < 0 || (r = logd_store_seal(s)) < 0)
                return log_errno(r, "store: cannot start the new chain: %m");
        log_notice("store: chain closed at record %llu (%s); a new chain starts at record %llu",
                   (unsigned long long)end, wipe ? "removed" : "kept", (unsigned long long)end + 1);
        *ret_end = end;
        return 0;
}
