/* authz.c */
#include "authz.h"

#include <errno.h>
#include <string.h>

const char *const ds_authorities[] = {
        DS_AUTHZ_SYSTEM,  DS_AUTHZ_PLAYBACK, DS_AUTHZ_MONITOR, DS_AUTHZ_MAINTENANCE,    DS_AUTHZ_BACKUP,
        DS_AUTHZ_SECURITY, DS_AUTHZ_CAMERA,  DS_AUTHZ_NETWORK, DS_AUTHZ_EVENT,          DS_AUTHZ_STORAGE,
        DS_AUTHZ_MANUAL_CONTROL, DS_AUTHZ_SYSTEM_INFO, DS_AUTHZ_ACCOUNT, NULL,
};

uint32_t ds_authz_bit(const char *name, size_t len)
{
        for (unsigned i = 0; ds_authorities[i]; i++)
                if (strlen(ds_authorities[i]) == len && memcmp(ds_authorities[i], name, len) == 0)
                        return 1u << i;
        return 0;
}

uint32_t ds_authz_all(void)
{
        uint32_t m = 0;

        for (unsigned i = 0; ds_authorities[i]; i++)
                m |= 1u << i;
        return m;
}

bool ds_authz_is_marker(const char *auth)
{
        return auth && (!strcmp(auth, AUTH_PUBLIC) || !strcmp(auth, AUTH_SESSION) || !strcmp(auth, AUTH_SERVICE));
}

int ds_authz_mask(const char *auth, uint32_t *ret)
{
        uint32_t m = 0;

        if (!auth || strlen(auth) > DS_AUTHZ_SET_MAX)
                return -EINVAL;
        if (ds_authz_is_marker(auth)) {
                *ret = 0;
                return 0;
        }
        for (const char *p = auth;;) {
                const char *e = strchr(p, '+');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                uint32_t bit = ds_authz_bit(p, len);

                if (!bit || (m & bit))
                        return -EINVAL;
                m |= bit;
                if (!e)
                        break;
                p = e + 1;
        }
        *ret = m;
        return 0;
}

bool ds_authz_valid(const char *auth)
{
        uint32_t m;

        return ds_authz_mask(auth, &m) == 0;
}
