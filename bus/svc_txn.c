/* svc_txn.c - a two-phase config.import: one staged transaction per service,
 * continued (commit/abort) only by the caller who prepared it, until it expires */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svc_internal.h"

bool svc_txn_expired(const struct svc_txn_owner *staged, int64_t now_ms)
{
        return staged && now_ms >= staged->expires_ms;
}

int svc_txn_admit(const struct svc_txn_owner *staged, enum svc_txn_phase phase, const char *txn,
                  const struct ds_caller *caller, int64_t now_ms, char *why, size_t size)
{
        if (staged && svc_txn_expired(staged, now_ms))
                staged = NULL; /* as good as dropped */
        if (phase == SVC_TXN_PREPARE) {
                if (!staged)
                        return 0;
                snprintf(why, size, "another import (txn '%s') is staged; commit or abort it first", staged->txn);
                return -EBUSY;
        }
        if (!staged || strcmp(staged->txn, txn) != 0) {
                snprintf(why, size, "no import staged as txn '%s' (never prepared, ended or expired)", txn);
                return -ENOENT;
        }
        /* the stamp busd gave, never a name from the message */
        if (strcmp(staged->id, caller->id) != 0 || strcmp(staged->user, caller->user) != 0) {
                snprintf(why, size, "txn '%s' was prepared by another caller", txn);
                return -EPERM;
        }
        return 0;
}
