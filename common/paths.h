/* paths.h - one runtime root for every path, so the stack also runs from a build tree */
#pragma once

struct ds_paths {
        char *rundir;   /* bus socket, pid files: /run/devsec */
        char *confdir;  /* defaults, bus keys and ACL: /etc/devsec */
        char *statedir; /* per-service state: /var/lib/devsec */
};

/* Resolution, first hit wins for each directory:
 *   1. explicit arguments (NULL to skip),
 *   2. DEVSEC_RUNDIR / DEVSEC_CONFDIR / DEVSEC_STATEDIR,
 *   3. a build tree: <dir of the executable>/../run/paths.conf written by `make run`,
 *   4. /run/devsec, /etc/devsec, /var/lib/devsec. */
int ds_paths_init(struct ds_paths *p, const char *rundir, const char *confdir, const char *statedir);
void ds_paths_free(struct ds_paths *p);
/* <statedir>/<svc>: caller owns. */
char *ds_paths_state(const struct ds_paths *p, const char *svc);
/* ipc://<rundir>/bus.sock, or DEVSEC_BUS_ENDPOINT when set: caller owns. */
char *ds_paths_bus_endpoint(const struct ds_paths *p);
