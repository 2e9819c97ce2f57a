#!/usr/bin/python3
# filterd_listen.py PORT ADDR... : a TCP listener on each address (never the
# wildcard) that greets each connection with "ok PORT\n" and keeps it open.
import selectors, socket, sys

port = int(sys.argv[1])
sel = selectors.DefaultSelector()
for a in sys.argv[2:]:
    fam = socket.AF_INET6 if ':' in a else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, port))
    s.listen(128)
    sel.register(s, selectors.EVENT_READ)
print('ready', flush=True)
held = []
while True:
    for key, _ in sel.select():
        try:
            c, _ = key.fileobj.accept()
            c.sendall(b'ok %d\n' % port)
            held.append(c)
        except OSError:
            pass
