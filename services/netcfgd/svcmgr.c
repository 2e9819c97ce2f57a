/* svcmgr.c - the service-manager interface shared by both backends */
#include <stdio.h>
#include <string.h>

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

void svcmgr_destroy(struct svcmgr *m)
{
        if (m->ops && m->ops->destroy)
                m->ops->destroy(m->impl);
        m->ops = NULL;
        m->impl = NULL;
}
