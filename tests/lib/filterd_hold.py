#!/usr/bin/python3
# filterd_hold.py HOST PORT N [SRC] [TIMEOUT_S] : opens N TCP connections (from
# SRC when given), waits for the listener's greeting on each, keeps them all
# open until the end and prints "<ok>/<N> connected". Exit 0 when all got in.
import socket, sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != '-' else None
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
ok, held = 0, []
for i in range(n):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if src:
            s.bind((src, 0))
        s.connect((host, port))
        if s.recv(64).startswith(b'ok'):
            ok += 1
            held.append(s)
        else:
            print('conn %d: closed without a greeting' % (i + 1))
    except OSError as e:
        print('conn %d: %s' % (i + 1, e))
print('%d/%d connected' % (ok, n), flush=True)
sys.exit(0 if ok == n else 1)
