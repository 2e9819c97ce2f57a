/* tls.c - the server certificate handed over to webd, and announced */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netcfgd.h"
#include "state.h"

/* The server certificate and key handed to webd: copies in the TLS directory,
 * 0640. On the device that directory is setgid group devsec-tls (tmpfiles.d),
 * so the copies belong to that group, which only webd's unit joins: no other
 * daemon reads the key, and netcfgd needs no capability to give it away. */
int netcfgd_tls_handover(struct netcfgd_ctx *x)
{
        static const char *const names[] = { "server.pem", "server.key" };
        int r = 0;

        if (!x->tlsdir)
                return 0;
        for (size_t i = 0; i < 2 && r == 0; i++) {
                char *buf = NULL;
                size_t len = 0;

                r = state_read(x->certdir, names[i], 1 << 20, &buf, &len);
                if (r == -ENOENT) {
                        r = 0; /* no certificate yet: nothing to hand over */
                        break;
                }
                if (r == 0)
                        r = state_mkdir_p(x->tlsdir, 0750);
                if (r == 0)
                        r = state_write(x->tlsdir, names[i], buf, len, 0640);
                if (buf)
                        explicit_bzero(buf, len);
                free(buf);
        }
        if (r < 0)
                log_errno(r, "cannot hand the certificate over to webd in '%s': %m", x->tlsdir);
        return r;
}

/* net.cert.changed {user}: webd loads the new certificate and key */
void netcfgd_publish_cert(struct netcfgd_ctx *x, const char *actor)
{
        struct mpw w;

        netcfgd_tls_handover(x);
        mpw_init(&w);
        mpw_map_begin(&w);
        mpw_kv_str(&w, "user", actor);
        mpw_map_end(&w);
        ds_daemon_publish(x->d, "net.cert.changed", &w);
        mpw_free(&w);
}
