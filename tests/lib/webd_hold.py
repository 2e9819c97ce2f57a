#!/usr/bin/env python3
"""webd_hold.py - TLS clients that hold connections to webd, for the attack tests.

  webd_hold.py limit HOST PORT CA SOURCES N
      opens N TLS connections at once, spread over the comma-separated SOURCES
      addresses (127.0.0.x: the per-source limit is not what refuses), prints
      "accepted=A refused=R" once every handshake has succeeded or failed
      (3 s each), then holds the accepted ones, sending a header byte every
      second, until stdin closes.
  webd_hold.py slow HOST PORT CA SOURCE N GAP MAX
      N slowloris clients: a request line, then one header byte every GAP
      seconds; prints "closed I SECONDS" as webd drops each one and
      "open I" for those still open after MAX seconds.
"""
import socket
import ssl
import sys
import threading
import time


def tls_connect(host, port, ca, src, timeout=3.0):
    ctx = ssl.create_default_context(cafile=ca)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.settimeout(timeout)
    raw.bind((src, 0))
    raw.connect((host, port))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.settimeout(None)
    return s


def limit(host, port, ca, sources, n):
    srcs = sources.split(",")
    res = [None] * n

    def one(i):
        try:
            s = tls_connect(host, port, ca, srcs[i % len(srcs)])
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            # a refused connection is closed by webd right after the handshake
            s.settimeout(0.5)
            try:
                if s.recv(1) == b"":
                    s.close()
                    return
            except (socket.timeout, ssl.SSLError):
                pass
            s.settimeout(None)
            res[i] = s
        except (OSError, ssl.SSLError):
            pass

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    held = [s for s in res if s]
    print("accepted=%d refused=%d" % (len(held), n - len(held)), flush=True)
    stop = threading.Event()

    def trickle():
        while not stop.wait(1.0):
            for s in held:
                try:
                    s.sendall(b"X")
                except OSError:
                    pass

    threading.Thread(target=trickle, daemon=True).start()
    sys.stdin.read()
    stop.set()
    for s in held:
        s.close()


def slow(host, port, ca, src, n, gap, max_s):
    out = threading.Lock()

    def one(i):
        t0 = time.monotonic()
        try:
            s = tls_connect(host, port, ca, src)
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
            s.settimeout(gap)
            while time.monotonic() - t0 < max_s:
                try:
                    if s.recv(4096) == b"":
                        break
                except socket.timeout:
                    s.sendall(b"X")
        except (OSError, ssl.SSLError):
            pass
        dt = time.monotonic() - t0
        with out:
            if dt < max_s:
                print("closed %d %.1f" % (i, dt), flush=True)
            else:
                print("open %d" % i, flush=True)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "limit" and len(a) == 6:
        limit(a[1], int(a[2]), a[3], a[4], int(a[5]))
    elif a and a[0] == "slow" and len(a) == 8:
        slow(a[1], int(a[2]), a[3], a[4], int(a[5]), float(a[6]), float(a[7]))
    else:
        sys.exit(__doc__)
