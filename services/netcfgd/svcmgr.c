/* svcmgr.c - the service-manager interface shared by both backends */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netcfgd.h"

int svcmgr_dev_name(const char *unit, char *buf, size_t size)
{
        size_t n = strlen(unit);
        int k;

        if (n > 8 && !strcmp(unit + n - 8, ".service"))
                n -= 8;
        if (n == 0)
                return -EINVAL;
        k = snprintf(buf, size, "%.*s", (int)n, unit);
        return k < 0 || (size_t)k >= size ? -E2BIG : 0;
}

int svcmgr_unit_name(const char *target, bool is_daemon, char *buf, size_t size)
{
        size_t n = strlen(target);
        int k;

        if (n == 0)
                return -EINVAL;
        if (is_daemon)
                k = snprintf(buf, size, "devsec-%s.service", target);
        else if (n > 8 && !strcmp(target + n - 8, ".service"))
                k = snprintf(buf, size, "%s", target);
        else
                k = snprintf(buf, size, "%s.service", target);
        return k < 0 || (size_t)k >= size ? -E2BIG : 0;
}

int svcmgr_allow(struct svcmgr *m, const struct fn_table *t)
{
        char **v = calloc(t->n + 1, sizeof *v), unit[256];
        size_t k = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < t->n; i++) {
                const struct net_function *f = &t->v[i];
                /* a hook unit is the table's whether it is installed or not */
                const char *target = f->hook ? f->hook : f->kind == FN_FLAG ? NULL : f->target;
                if (!target || svcmgr_unit_name(target, !f->hook && f->kind == FN_DAEMON, unit, sizeof unit) < 0)
                        continue;
                if (!(v[k] = strdup(unit))) {
                        while (k > 0)
                                free(v[--k]);
                        free(v);
                        return -ENOMEM;
                }
                k++;
        }
        for (size_t i = 0; i < m->n_allowed; i++)
                free(m->allowed[i]);
        free(m->allowed);
        m->allowed = v;
        m->n_allowed = k;
        return 0;
}

static bool allowed(const struct svcmgr *m, const char *target, bool is_daemon)
{
        char unit[256];

        if (svcmgr_unit_name(target, is_daemon, unit, sizeof unit) == 0)
                for (size_t i = 0; i < m->n_allowed; i++)
                        if (!strcmp(m->allowed[i], unit))
                                return true;
        return false;
}

int svcmgr_disabled(struct svcmgr *m, const char *target, bool is_daemon)
{
        if (!m->ops || !m->ops->masked || !allowed(m, target, is_daemon))
                return -EPERM;
        return m->ops->masked(m->impl, target, is_daemon);
}

int svcmgr_set(struct svcmgr *m, const char *target, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud)
{
        if (allowed(m, target, is_daemon))
                return m->ops->set(m->impl, target, is_daemon, enable, done, ud);
        log_warn("svcmgr: refused to %s '%s': not a unit of the function table", enable ? "start" : "stop", target);
        return -EPERM;
}

int svcmgr_unit_state(struct svcmgr *m, const char *target, bool is_daemon, const char **ret_state)
{
        char unit[256];
        int r;

        if (!m->ops || !m->ops->unit_state || !allowed(m, target, is_daemon))
                return -EPERM;
        if ((r = svcmgr_unit_name(target, is_daemon, unit, sizeof unit)) < 0)
                return r;
        return m->ops->unit_state(m->impl, unit, ret_state);
}

void svcmgr_refresh(struct svcmgr *m)
{
        if (m->ops && m->ops->refresh && m->n_allowed)
                m->ops->refresh(m->impl, m->allowed, m->n_allowed);
}

void svcmgr_destroy(struct svcmgr *m)
{
        for (size_t i = 0; i < m->n_allowed; i++)
                free(m->allowed[i]);
        free(m->allowed);
        m->allowed = NULL;
        m->n_allowed = 0;
        if (m->ops && m->ops->destroy)
                m->ops->destroy(m->impl);
        m->ops = NULL;
        m->impl = NULL;
}
