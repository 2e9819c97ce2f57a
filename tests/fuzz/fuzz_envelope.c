/* fuzz_envelope - any byte string through the bounded decoder, the id peek,
 * the accessors busd uses, and a re-encode of what decoded. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct mp_limits lim = { .max_msg = 1 << 16, .max_depth = 16, .max_items = 1000, .max_str = 1 << 16 };
        msgpack_unpacked u;
        const char *why;
        const void *idp;
        size_t idn;
        char buf[64];

        mp_peek_id(data, size, &idp, &idn);
        if (mp_decode(data, size, &lim, &u, &why) < 0)
                return 0;
        {
                const msgpack_object *m = &u.data;
                struct mpw w;

                mp_strcpy(mp_get(m, "k"), buf, sizeof buf);
                mp_get_int(m, "id", -1);
                mp_get_bool(m, "ok", false);
                free(mp_strdup(mp_get(m, "to")));
                mpw_init(&w);
                mpw_obj(&w, m);
                /* what was accepted re-encodes and decodes again */
                {
                        msgpack_unpacked v;
                        static const struct mp_limits big = { .max_msg = 1 << 20, .max_depth = 16, .max_items = 1000,
                                                              .max_str = 1 << 16 };
                        if (mp_decode(mpw_data(&w), mpw_len(&w), &big, &v, &why) != 0)
                                __builtin_trap();
                        msgpack_unpacked_destroy(&v);
                }
                mpw_free(&w);
        }
        msgpack_unpacked_destroy(&u);
        return 0;
}
