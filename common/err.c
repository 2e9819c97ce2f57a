/* err.c - one table from -errno to the bus's stable error strings */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct err_map {
        int code; /* positive */
        const char *name;
        const char *msg;
};

/* First match wins for code -> name; the first entry of a name is its canonical errno. */
static const struct err_map err_table[] = {
        { EINVAL, "EINVAL", "invalid argument" },
        { EPERM, "EPERM", "permission denied" },
        { DS_EAUTH, "EAUTH", "not authenticated" },
        { DS_ELOCKED, "ELOCKED", "account locked" },
        { ENOENT, "ENOENT", "no such object" },
        { EEXIST, "EEXIST", "already exists" },
        { DS_EUNAVAIL, "EUNAVAIL", "service unavailable" },
        { DS_EDISABLED, "EDISABLED", "function disabled" },
        { ETIMEDOUT, "ETIMEDOUT", "timed out" },
        { EBUSY, "EBUSY", "busy" },
        { DS_EINTERNAL, "EINTERNAL", "internal error" },
        { EACCES, "EPERM", "permission denied" },
        { ERANGE, "EINVAL", "value out of range" },
        { E2BIG, "EINVAL", "argument too large" },
        { EMSGSIZE, "EINVAL", "message too large" },
        { EBADMSG, "EINVAL", "malformed message" },
        { ENOTSUP, "EINVAL", "not supported" },
        { EAGAIN, "EBUSY", "try again later" },
        { EUSERS, "EBUSY", "too many sessions" },
        { EHOSTUNREACH, "EUNAVAIL", "service unavailable" },
        { ECONNREFUSED, "EUNAVAIL", "connection refused" },
        { ENOTCONN, "EUNAVAIL", "not connected" },
        { ESHUTDOWN, "EDISABLED", "function disabled" },
        { ENOSPC, "EINTERNAL", "no space left" },
        { ENOMEM, "EINTERNAL", "out of memory" },
        { EIO, "EINTERNAL", "input/output error" },
};

#define N_ERR (sizeof err_table / sizeof err_table[0])

static const struct err_map *lookup(int neg_code)
{
        int c = neg_code < 0 ? -neg_code : neg_code;

        for (size_t i = 0; i < N_ERR; i++)
                if (err_table[i].code == c)
                        return &err_table[i];
        return NULL;
}

const char *ds_err_name(int neg_code)
{
        const struct err_map *m = lookup(neg_code);

        return m ? m->name : "EINTERNAL";
}

const char *ds_err_default_msg(int neg_code)
{
        const struct err_map *m = lookup(neg_code);

        return m ? m->msg : "internal error";
}

int ds_err_from_name(const char *name, size_t len)
{
        for (size_t i = 0; i < N_ERR; i++)
                if (strlen(err_table[i].name) == len && memcmp(err_table[i].name, name, len) == 0)
                        return -err_table[i].code;
        return -DS_EINTERNAL;
}

void ds_err_clear(struct ds_err *e)
{
        memset(e, 0, sizeof *e);
}

int ds_err_set(struct ds_err *e, int neg_code, const char *field, const char *fmt, ...)
{
        va_list ap;
        int n;

        e->code = neg_code;
        e->field[0] = '\0';
        if (field && snprintf(e->field, sizeof e->field, "%s", field) >= (int)sizeof e->field)
                memcpy(e->field + sizeof e->field - 4, "...", 4);
        if (fmt) {
                va_start(ap, fmt);
                n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
                va_end(ap);
                if (n >= (int)sizeof e->msg)
                        memcpy(e->msg + sizeof e->msg - 4, "...", 4);
        } else {
                snprintf(e->msg, sizeof e->msg, "%s", ds_err_default_msg(neg_code));
        }
        return neg_code;
}
