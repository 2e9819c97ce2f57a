/* fuzz_nts - timed's NTS parsers on hostile bytes: an NTS-KE response (first
 * byte even) or an NTP reply with extension fields to an outstanding NTS
 * request (first byte odd; the unique identifier is taken from the input so
 * that the authenticator's parsing and opening are reached). The daemon's
 * own sources are compiled in. */
#include <stdint.h>
#include <string.h>

#include "../../services/timed/ntp.c"
#include "../../services/timed/nts.c"
#include "../../services/timed/nts_ke.c"
#include "../../services/timed/siv.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        if (!(data[0] & 1)) {
                struct nts_ke_result r;
                const char *why;

                nts_ke_parse(data + 1, size - 1, &r, &why);
                return 0;
        }
        struct nts_assoc a = { .have_keys = true, .uid_out = true };
        memset(a.k.s2c, 2, sizeof a.k.s2c);
        if (size >= 1 + NTP_PKT_LEN + 4 + NTS_UID_LEN)
                memcpy(a.uid, data + 1 + NTP_PKT_LEN + 4, NTS_UID_LEN);
        nts_reply_check(&a, data + 1, size - 1);
        return 0;
}
