/* addr.c - one address: IPv4, IPv6 or MAC, parsed and printed */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "filterd.h"

size_t fd_addr_len(uint8_t fam)
{
        return fam == FD_V4 ? 4 : fam == FD_V6 ? 16 : fam == FD_MAC ? 6 : 0;
}

int fd_mac_parse(const char *s, uint8_t a[16])
{
        unsigned v[6];
        int used = 0;

        if (strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 17; i++)
                if ((i % 3 == 2) ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
                        return -EINVAL;
        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &used) != 6 ||
            used != 17)
                return -EINVAL;
        memset(a, 0, 16);
        for (int i = 0; i < 6; i++)
                a[i] = (uint8_t)v[i];
        return 0;
}

int fd_ip_parse(const char *s, uint8_t *fam, uint8_t a[16])
{
        memset(a, 0, 16);
        if (inet_pton(AF_INET, s, a) == 1) {
                *fam = FD_V4;
                return 0;
        }
        if (inet_pton(AF_INET6, s, a) == 1) {
                *fam = FD_V6;
                return 0;
        }
        return -EINVAL;
}

int fd_addr_parse(const char *s, uint8_t *ret_fam, uint8_t ret_addr[16])
{
        if (fd_ip_parse(s, ret_fam, ret_addr) == 0)
                return 0;
        if (fd_mac_parse(s, ret_addr) == 0) {
                *ret_fam = FD_MAC;
                return 0;
        }
        return -EINVAL;
}

void fd_addr_format(uint8_t fam, const uint8_t *a, char *buf, size_t size)
{
        if (fam == FD_MAC)
                snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5]);
        else if (!inet_ntop(fam == FD_V4 ? AF_INET : AF_INET6, a, buf, (socklen_t)size) && size)
                buf[0] = '\0';
}
