/* paths.c - runtime root resolution */
#include "paths.h"

#include <errno.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *pick(const char *arg, const char *env, const char *tree, const char *def)
{
        const char *e = getenv(env);

        if (arg)
                return strdup(arg);
        if (e && *e)
                return strdup(e);
        if (tree)
                return strdup(tree);
        return strdup(def);
}

int ds_paths_init(struct ds_paths *p, const char *rundir, const char *confdir, const char *statedir)
{
        char exe[PATH_MAX], conf[PATH_MAX + 32];
        const char *t_run = NULL, *t_conf = NULL, *t_state = NULL;
        config_t cfg;
        ssize_t n;

        memset(p, 0, sizeof *p);
        n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
                exe[n] = '\0';
                snprintf(conf, sizeof conf, "%s/../run/paths.conf", dirname(exe));
                config_init(&cfg);
                if (access(conf, R_OK) == 0 && config_read_file(&cfg, conf) == CONFIG_TRUE) {
                        config_lookup_string(&cfg, "rundir", &t_run);
                        config_lookup_string(&cfg, "confdir", &t_conf);
                        config_lookup_string(&cfg, "statedir", &t_state);
                }
        }
        p->rundir = pick(rundir, "DEVSEC_RUNDIR", t_run, "/run/devsec");
        p->confdir = pick(confdir, "DEVSEC_CONFDIR", t_conf, "/etc/devsec");
        p->statedir = pick(statedir, "DEVSEC_STATEDIR", t_state, "/var/lib/devsec");
        if (n > 0)
                config_destroy(&cfg);
        if (!p->rundir || !p->confdir || !p->statedir) {
                ds_paths_free(p);
                return -ENOMEM;
        }
        return 0;
}

void ds_paths_free(struct ds_paths *p)
{
        free(p->rundir);
        free(p->confdir);
        free(p->statedir);
        p->rundir = p->confdir = p->statedir = NULL;
}

char *ds_paths_state(const struct ds_paths *p, const char *svc)
{
        char *s;

        if (asprintf(&s, "%s/%s", p->statedir, svc) < 0)
                return NULL;
        return s;
}

char *ds_paths_bus_endpoint(const struct ds_paths *p)
{
        const char *e = getenv("DEVSEC_BUS_ENDPOINT");
        char *s;

        if (e && *e)
                return strdup(e);
        if (asprintf(&s, "ipc://%s/bus.sock", p->rundir) < 0)
                return NULL;
        return s;
}
