/* svc_io.c - a daemon's events and state files: what services and the
 * skeleton's lower parts (settings, queues) publish and persist */
#include "svc_internal.h"

int ds_daemon_publish(struct ds_daemon *d, const char *topic, const struct mpw *data)
{
        return d->bus ? bus_publish(d->bus, topic, data) : -DS_EUNAVAIL;
}

int ds_daemon_save(struct ds_daemon *d, const char *name, const void *data, size_t len)
{
        return state_write(d->statedir, name, data, len, 0600);
}

int ds_daemon_load(struct ds_daemon *d, const char *name, size_t max, char **ret, size_t *ret_len)
{
        return state_read(d->statedir, name, max, ret, ret_len);
}
