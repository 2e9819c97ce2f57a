/* svc_auth.c - the authorities the generic methods need beyond the ACL's:
 * the settings', the state's, and the one check that refuses on the record */
#include <errno.h>

#include "svc_internal.h"

const char *svc_settings_auth(const struct ds_daemon *d)
{
        return d->svc->config_auth ? d->svc->config_auth : DS_AUTHZ_SYSTEM;
}

/* The state stands for the service's own methods: its authority, never less. */
const char *svc_state_auth(const struct ds_daemon *d)
{
        return d->svc->state_auth ? d->svc->state_auth : svc_settings_auth(d);
}

int svc_need_auth(struct ds_call *c, const char *need, const char *what)
{
        if (ds_caller_allowed(&c->caller, need))
                return 0;
        log_audit("security", LOG_LVL_WARNING, ds_call_actor(c), "refused %s to '%s': needs authority '%s'", what,
                  ds_call_actor(c), need);
        return ds_call_fail(c, -EPERM, NULL, "%s needs authority '%s'", what, need);
}
