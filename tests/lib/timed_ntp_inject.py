#!/usr/bin/python3
# timed_ntp_inject.py PORT BEHAVIOUR... : a hostile NTP "server" on
# 127.0.0.1:PORT. It answers the Nth request with the Nth behaviour (the last
# one repeats): good, short, origin (wrong origin: spoofed), replay (a good
# reply sent twice), stratum0, stratum16, leap3, mode, version, rate, deny,
# rstr, silent. Prints "req N BEHAVIOUR" per request, flushed.
import socket, struct, sys, time

NTP_DELTA = 2208988800

def ts(t):
    s = int(t)
    return struct.pack('!II', s + NTP_DELTA, int((t - s) * 2**32) & 0xffffffff)

def reply(cookie, stratum=2, leap=0, refid=b'GPS\0', mode=4, version=4):
    now = time.time()
    return (struct.pack('!BBbb', leap << 6 | version << 3 | mode, stratum, 4, -20)
            + struct.pack('!II', 0x100, 0x80) + refid + ts(now - 1)
            + cookie + ts(now) + ts(now))

port, plan = int(sys.argv[1]), sys.argv[2:] or ['good']
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', port))
print('ready', flush=True)
n = 0
while True:
    data, addr = s.recvfrom(512)
    if len(data) < 48:
        continue
    cookie = data[40:48]
    b = plan[min(n, len(plan) - 1)]
    n += 1
    print('req', n, b, flush=True)
    if b == 'good':
        s.sendto(reply(cookie), addr)
    elif b == 'short':
        s.sendto(reply(cookie)[:20], addr)
    elif b == 'origin':
        bad = bytes(x ^ 0x5a for x in cookie)
        s.sendto(reply(bad), addr)
    elif b == 'replay':
        pkt = reply(cookie)
        s.sendto(pkt, addr)
        time.sleep(0.05)
        s.sendto(pkt, addr)
    elif b == 'stratum0':
        s.sendto(reply(cookie, stratum=0, refid=b'XYZW'), addr)
    elif b == 'stratum16':
        s.sendto(reply(cookie, stratum=16), addr)
    elif b == 'leap3':
        s.sendto(reply(cookie, leap=3), addr)
    elif b == 'mode':
        s.sendto(reply(cookie, mode=3), addr)
    elif b == 'version':
        s.sendto(reply(cookie, version=7), addr)
    elif b in ('rate', 'deny', 'rstr'):
        s.sendto(reply(cookie, stratum=0, leap=3, refid=b.upper().encode()), addr)
    # 'silent': no answer
