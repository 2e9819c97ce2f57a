/* err.h - the bus's error codes and their mapping from -errno */
#pragma once
#include <errno.h>
#include <stddef.h>

/* Codes beyond the errno range for conditions errno has no word for. */
#define DS_EAUTH 4097     /* not logged in / bad credentials */
#define DS_ELOCKED 4098   /* account locked */
#define DS_EUNAVAIL 4099  /* service not on the bus */
#define DS_EDISABLED 4100 /* function disabled by the operator */
#define DS_EINTERNAL 4101

/* An error as carried in a reply: code, message, optional field/reason. */
struct ds_err {
        int code;        /* -errno or -DS_E* */
        char field[96];  /* EINVAL: the offending argument, dotted path */
        char msg[384];
        char reason[32]; /* optional machine-readable reason, e.g. password-expired */
};

/* "EINVAL", "EPERM", ... ; anything unknown maps to "EINTERNAL". */
const char *ds_err_name(int neg_code);
/* Inverse of ds_err_name(); unknown names give -DS_EINTERNAL. */
int ds_err_from_name(const char *name, size_t len);
/* Short default human message for a code. */
const char *ds_err_default_msg(int neg_code);

/* Fill e and return e->code. field may be NULL. */
int ds_err_set(struct ds_err *e, int neg_code, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void ds_err_clear(struct ds_err *e);
