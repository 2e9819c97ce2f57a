/* fuzz_schema - any decoded map through a schema with every field kind */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

static const char *const modes[] = { "off", "allow", "deny", NULL };
static const struct ds_field ip = { "", DS_STR, 0, .check = ds_check_ip };
static const struct ds_field inner[] = {
        { "host", DS_STR, DS_REQUIRED, .check = ds_check_hostport },
        { "mac", DS_STR, 0, .check = ds_check_mac },
        { NULL },
};
static const struct ds_field fields[] = {
        { "name", DS_STR, DS_REQUIRED, .max_len = 32, .check = ds_check_name },
        { "port", DS_INT, 0, .min = 1, .max = 65535 },
        { "mode", DS_STR, 0, .enums = modes },
        { "on", DS_BOOL, 0 },
        { "ratio", DS_FLOAT, 0, .min = 0, .max = 10 },
        { "ips", DS_ARRAY, 0, .max_len = 8, .sub = &ip },
        { "server", DS_MAP, 0, .sub = inner },
        { "extra", DS_MAP, DS_OPEN_MAP },
        { "email", DS_STR, 0, .check = ds_check_email },
        { "path", DS_STR, 0, .check = ds_check_path },
        { "any", DS_ANY, 0 },
        { NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        msgpack_unpacked u;
        struct ds_err e;
        const char *why;

        if (mp_decode(data, size, NULL, &u, &why) < 0)
                return 0;
        ds_err_clear(&e);
        if (ds_validate(fields, &u.data, &e) < 0 && (!e.msg[0] || e.code != -EINVAL))
                __builtin_trap(); /* every refusal says why */
        msgpack_unpacked_destroy(&u);
        return 0;
}
