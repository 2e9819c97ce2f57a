/* devsec-keygen - creates bus keypairs: <confdir>/bus/keys/NAME.pub (public,
 * trusted by busd) and <confdir>/bus/private/NAME.key (secret, mode 0600). */
#include <czmq.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "schema.h"
#include "state.h"

static void usage(void)
{
        fprintf(stderr,
                "usage: devsec-keygen [--confdir DIR] [--force] [--owner NAME=USER[:GROUP]...] NAME...\n"
                "  Creates a CURVE keypair per NAME; existing keys are kept unless --force.\n"
                "  --owner gives the secret key of NAME to USER (and GROUP, mode 0640).\n");
}

static int make_key(const char *confdir, const char *name, bool force, const char *owner)
{
        char pub[4096], sec[4096];
        zcert_t *c;

        snprintf(pub, sizeof pub, "%s/bus/keys/%s.pub", confdir, name);
        snprintf(sec, sizeof sec, "%s/bus/private/%s.key", confdir, name);
        if (!force && access(pub, F_OK) == 0 && access(sec, F_OK) == 0) {
                printf("%s: kept\n", name);
                return 0;
        }
        c = zcert_new();
        if (!c)
                return -ENOMEM;
        zcert_set_meta(c, "name", "%s", name);
        {
                mode_t old = umask(0077); /* the secret file is born private */
                int r = zcert_save_secret(c, sec);
                umask(old);
                if (r < 0 || chmod(sec, 0600) < 0) {
                        zcert_destroy(&c);
                        fprintf(stderr, "devsec-keygen: cannot write '%s': %s\n", sec, strerror(errno));
                        return -EIO;
                }
        }
        if (zcert_save_public(c, pub) < 0 || chmod(pub, 0644) < 0) {
                zcert_destroy(&c);
                fprintf(stderr, "devsec-keygen: cannot write '%s': %s\n", pub, strerror(errno));
                return -EIO;
        }
        if (owner) {
                char u[64], *g;
                struct passwd *pw;
                struct group *gr = NULL;

                snprintf(u, sizeof u, "%s", owner);
                g = strchr(u, ':');
                if (g)
                        *g++ = '\0';
                pw = getpwnam(u);
                if (g)
                        gr = getgrnam(g);
                if (!pw || (g && !gr)) {
                        fprintf(stderr, "devsec-keygen: owner '%s' of '%s' does not exist\n", owner, name);
                } else if (chown(sec, pw->pw_uid, gr ? gr->gr_gid : pw->pw_gid) < 0 ||
                           chmod(sec, gr ? 0640 : 0600) < 0) {
                        fprintf(stderr, "devsec-keygen: chown '%s': %s\n", sec, strerror(errno));
                }
        }
        printf("%s: %s\n", name, zcert_public_txt(c));
        zcert_destroy(&c);
        return 0;
}

int main(int argc, char **argv)
{
        const char *confdir = NULL;
        const char *owners[64][2];
        size_t n_owners = 0;
        struct ds_paths p;
        bool force = false;
        char dir[4096];
        int i, rc = 0;

        zsys_handler_set(NULL);
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (!strcmp(argv[i], "--confdir") && i + 1 < argc)
                        confdir = argv[++i];
                else if (!strcmp(argv[i], "--force"))
                        force = true;
                else if (!strcmp(argv[i], "--owner") && i + 1 < argc && n_owners < 64) {
                        char *eq = strchr(argv[++i], '=');
                        if (!eq) {
                                usage();
                                return 2;
                        }
                        *eq = '\0';
                        owners[n_owners][0] = argv[i];
                        owners[n_owners++][1] = eq + 1;
                } else {
                        usage();
                        return 2;
                }
        }
        if (i >= argc) {
                usage();
                return 2;
        }
        if (ds_paths_init(&p, NULL, confdir, NULL) < 0)
                return 1;
        snprintf(dir, sizeof dir, "%s/bus/keys", p.confdir);
        if (state_mkdir_p(dir, 0755) < 0) {
                fprintf(stderr, "devsec-keygen: cannot create '%s': %s\n", dir, strerror(errno));
                return 1;
        }
        snprintf(dir, sizeof dir, "%s/bus/private", p.confdir);
        if (state_mkdir_p(dir, 0711) < 0) {
                fprintf(stderr, "devsec-keygen: cannot create '%s': %s\n", dir, strerror(errno));
                return 1;
        }
        for (; i < argc; i++) {
                const char *owner = NULL;
                if (ds_check_name(argv[i], strlen(argv[i]))) {
                        fprintf(stderr, "devsec-keygen: '%s': %s\n", argv[i], ds_check_name(argv[i], strlen(argv[i])));
                        rc = 2;
                        continue;
                }
                for (size_t k = 0; k < n_owners; k++)
                        if (!strcmp(owners[k][0], argv[i]))
                                owner = owners[k][1];
                if (make_key(p.confdir, argv[i], force, owner) < 0)
                        rc = 1;
        }
        ds_paths_free(&p);
        return rc;
}
