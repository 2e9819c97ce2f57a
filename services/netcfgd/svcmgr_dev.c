/* svcmgr_dev.c - the dev-stack backend: <rundir>/svcmgr/<name>.masked files.
 * tools/devsec-run stops a masked devsec daemon and starts it again when the
 * file goes; for other units the files only record state: nothing on the
 * host changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"

struct dev_mgr {
        char *dir;
};

static int mask_name(const char *unit, char *buf, size_t size)
{
        char base[64];
        int r = svcmgr_dev_name(unit, base, sizeof base), k;

        if (r < 0)
                return r;
        k = snprintf(buf, size, "%s.masked", base);
        return k < 0 || (size_t)k >= size ? -E2BIG : 0;
}

static int dev_set(void *impl, const char *unit, bool is_daemon, bool enable, svcmgr_done_fn done, void *ud)
{
        struct dev_mgr *m = impl;
        char name[80];
        int r;

        (void)is_daemon;
        r = mask_name(unit, name, sizeof name);
        if (r == 0) {
                if (enable) {
                        r = state_remove(m->dir, name);
                        if (r == -ENOENT)
                                r = 0;
                } else {
                        r = state_write(m->dir, name, "masked by netcfgd\n", 18, 0644);
                }
        }
        if (r < 0)
                log_warn_errno(r, "svcmgr: cannot %s '%s' in '%s': %m", enable ? "unmask" : "mask", unit, m->dir);
        done(ud, r, r < 0 ? "cannot write the service-manager directory" : NULL);
        return 0;
}

static int dev_masked(void *impl, const char *unit, bool is_daemon)
{
        struct dev_mgr *m = impl;
        char name[80], *p;
        struct stat st;
        int r;

        (void)is_daemon;
        if ((r = mask_name(unit, name, sizeof name)) < 0)
                return r;
        p = path_join(m->dir, name);
        if (!p)
                return -ENOMEM;
        r = stat(p, &st) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
        free(p);
        return r;
}

static int dev_file_name(const char *unit, const char *suffix, char *buf, size_t size)
{
        char base[64];
        int r = svcmgr_dev_name(unit, base, sizeof base), k;

        if (r < 0)
                return r;
        k = snprintf(buf, size, "%s%s", base, suffix);
        return k < 0 || (size_t)k >= size ? -E2BIG : 0;
}

static int dev_unit_state(void *impl, const char *unit, const char **ret_state)
{
        struct dev_mgr *m = impl;
        char name[80], num[24] = "", *p, *buf = NULL;
        struct stat st;
        size_t len = 0;
        long pid = 0;
        int r;

        if ((r = dev_file_name(unit, ".unit", name, sizeof name)) < 0)
                return r;
        if (!(p = path_join(m->dir, name)))
                return -ENOMEM;
        r = stat(p, &st) == 0 ? 1 : errno == ENOENT ? 0 : -errno;
        free(p);
        if (r <= 0)
                return r;
        /* active while the process its runner recorded lives */
        if (dev_file_name(unit, ".pid", name, sizeof name) == 0 && state_read(m->dir, name, 32, &buf, &len) == 0) {
                memcpy(num, buf, len < sizeof num - 1 ? len : sizeof num - 1);
                pid = strtol(num, NULL, 10);
        }
        free(buf);
        *ret_state = pid > 1 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? "active" : "inactive";
        return 1;
}

static void dev_destroy(void *impl)
{
        struct dev_mgr *m = impl;

        if (m)
                free(m->dir);
        free(m);
}

static const struct svcmgr_ops dev_ops = {
        .name = "dev",
        .set = dev_set,
        .masked = dev_masked,
        .unit_state = dev_unit_state,
        .destroy = dev_destroy,
};

int svcmgr_dev_new(const char *dir, struct svcmgr *ret)
{
        struct dev_mgr *m = calloc(1, sizeof *m);
        int r;

        if (!m || !(m->dir = strdup(dir))) {
                free(m);
                return -ENOMEM;
        }
        r = state_mkdir_p(dir, 0755);
        if (r < 0) {
                dev_destroy(m);
                return r;
        }
        *ret = (struct svcmgr){ .ops = &dev_ops, .impl = m }; /* no allow list yet */
        return 0;
}
