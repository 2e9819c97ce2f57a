#!/usr/bin/python3
# smtp_server.py - a real aiosmtpd on loopback for the smtp-notifier tests:
#   smtp_server.py PORT MAILDIR CERT KEY [--no-starttls] [--user U --password-file F] [--implicit]
# STARTTLS required (unless --no-starttls: then it is not even offered), AUTH
# PLAIN/LOGIN only inside TLS (auth_require_tls) and required when --user is
# given. Every accepted mail lands in MAILDIR/new (Maildir). Prints "ready".
import argparse, asyncio, logging, mailbox, os, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, SMTP

p = argparse.ArgumentParser()
p.add_argument("port", type=int); p.add_argument("maildir"); p.add_argument("cert"); p.add_argument("key")
p.add_argument("--no-starttls", action="store_true"); p.add_argument("--implicit", action="store_true")
p.add_argument("--user"); p.add_argument("--password-file")
a = p.parse_args()
if os.environ.get('SMTP_DEBUG'):
    logging.basicConfig(level=logging.DEBUG)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(a.cert, a.key)
password = open(a.password_file).read().strip() if a.password_file else None

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = a.user is not None and auth_data.login.decode() == a.user and auth_data.password.decode() == password
    return AuthResult(success=ok)

class C(Controller):
    def factory(self):
        kw = dict(hostname="localhost", auth_required=a.user is not None, auth_require_tls=True,
                  authenticator=authenticator if a.user else None)
        if not a.no_starttls and not a.implicit:
            kw.update(tls_context=ctx, require_starttls=True)
        return SMTP(self.handler, **kw)

mailbox.Maildir(a.maildir, create=True)
c = C(Mailbox(a.maildir), hostname="127.0.0.1", port=a.port, ssl_context=ctx if a.implicit else None)
c.start()
print("ready", flush=True)
try:
    asyncio.new_event_loop().run_until_complete(asyncio.Event().wait())
except KeyboardInterrupt:
    pass
finally:
    c.stop()
