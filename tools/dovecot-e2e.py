#!/usr/bin/env python3
"""End to end with a real Dovecot 2.3: IMAP SEARCH answered through Mailsift must equal
Dovecot's own answers.

Starts, on 127.0.0.1 only, in a private folder:
  - `mailsift serve` on TCP (the Solr routes Dovecot's fts_solr plugin talks to),
  - Dovecot A with fts + fts_solr pointed at it (fts_enforced = yes, so a failing backend
    fails the SEARCH instead of silently falling back to scanning),
  - Dovecot B without fts (it scans the mail itself: the ground truth),
appends the same real messages to both over IMAP, runs a broad set of SEARCH criteria on
both, expunges some messages and compares again. Stops everything by PID. Exit status 0 when
every answer matched; prints one line per criterion and a summary
("N passed, M failed").

Usage: dovecot-e2e.py --mailsift PATH [--corpus DIR] [--messages N] [--keep]
Needs root (Dovecot runs mail processes as the system user dovecot-test) and the Debian
packages dovecot-imapd and dovecot-solr (tools/setup.sh installs them).
"""
import argparse
import email
import email.policy
import imaplib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


COMMON = """
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = static
  args = password=pass
}
mail_uid = dovecot-test
mail_gid = dovecot-test
first_valid_uid = 100
namespace inbox {
  inbox = yes
  separator = /
}
mail_fsync = never
service imap-login {
  inet_listener imaps {
    port = 0
  }
  inet_listener imap {
    address = 127.0.0.1
    port = %(imap_port)d
  }
  service_count = 0
  process_min_avail = 0
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
base_dir = %(root)s/run
instance_name = %(name)s
log_path = %(root)s/dovecot.log
state_dir = %(root)s/state
userdb {
  driver = static
  args = home=%(root)s/home/%%u
}
mail_location = maildir:~/Maildir
"""

FTS = """
mail_plugins = $mail_plugins fts fts_solr
plugin {
  fts = solr
  fts_solr = url=http://127.0.0.1:%(solr_port)d/solr/dovecot/
  fts_autoindex = yes
  fts_enforced = yes
}
"""


def start_dovecot(root, name, imap_port, solr_port=None):
    os.makedirs(root + "/home", exist_ok=True)
    os.makedirs(root + "/state", exist_ok=True)
    shutil.chown(root + "/home", "dovecot-test", "dovecot-test")
    conf = COMMON % {"root": root, "name": name, "imap_port": imap_port}
    if solr_port:
        conf += FTS % {"solr_port": solr_port}
    path = root + "/dovecot.conf"
    with open(path, "w") as f:
        f.write(conf)
    # Its own output and the daemonized master's must not hold the caller's pipes open.
    subprocess.run(["dovecot", "-c", path], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(imap_port):
        raise SystemExit("dovecot %s did not listen on %d: %s" % (name, imap_port, open(root + "/dovecot.log").read()[-2000:]))
    return path


def stop_dovecot(path):
    """Stops an instance by its master's PID (base_dir/master.pid) and waits for it."""
    if not path:
        return
    pidfile = os.path.join(os.path.dirname(path), "run", "master.pid")
    try:
        pid = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        end = time.time() + wait
        while time.time() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def plain_text_messages(n, seed):
    """Real single-part text/plain messages (both servers decode them alike: no HTML, whose
    fts text and raw source differ by design, SOLR-PROTOCOL.md 9.4)."""
    out = []
    for folder in ["spamassassin-public-corpus/easy_ham", "spamassassin-public-corpus/hard_ham",
                   "mime-fixtures/notmuch", "mime-fixtures/ruby-mail", "mime-fixtures/mailcore2"]:
        base = os.path.join(SHARED, "corpus", folder)
        if not os.path.isdir(base):
            continue
        names = []
        for dirpath, _, files in os.walk(base):
            for f in files:
                if not f.endswith((".md", ".py", ".txt")) and f != "LICENSE" and f != "cmds":
                    names.append(os.path.join(dirpath, f))
        names.sort()
        random.Random(seed).shuffle(names)
        for p in names:
            raw = open(p, "rb").read()
            if raw.startswith(b"From ") or len(raw) > 200_000:
                continue
            try:
                msg = email.message_from_bytes(raw, policy=email.policy.compat32)
            except Exception:
                continue
            if msg.is_multipart() or msg.get_content_type() != "text/plain":
                continue
            if msg.get("Content-Transfer-Encoding", "7bit").lower().strip() not in ("7bit", "8bit", "quoted-printable", "base64"):
                continue
            charset = (msg.get_content_charset() or "us-ascii").lower()
            if charset not in ("us-ascii", "utf-8", "iso-8859-1", "iso-8859-15", "windows-1252", "koi8-r", "iso-8859-2"):
                continue
            out.append(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            if len(out) >= n:
                return out
    return out


def decoded(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        body = msg.get_content()
    except Exception:
        body = ""
    return msg, body if isinstance(body, str) else ""


def criteria_for(messages, seed):
    rnd = random.Random(seed)
    words, subjects, froms, pieces = [], [], [], []
    for raw in messages:
        msg, body = decoded(raw)
        words += [w for w in re.findall(r"[A-Za-z]{5,12}", body)]
        subjects += re.findall(r"[A-Za-z]{4,}", str(msg.get("Subject", "")))
        froms += re.findall(r"[A-Za-z]{3,}", str(msg.get("From", "")))
        for w in re.findall(r"[^\x00-\x7f]{2,6}", body):
            pieces.append(w)
    pick = lambda xs, k: rnd.sample(sorted(set(xs)), min(k, len(set(xs)))) if xs else []
    out = []
    for w in pick(words, 14):
        out.append("BODY %s" % w)
        out.append("BODY %s" % w[1:-1].lower())  # a substring inside words
        out.append("TEXT %s" % w.upper())
        out.append("NOT BODY %s" % w)
    for w in pick(subjects, 8):
        out.append("SUBJECT %s" % w)
    for w in pick(froms, 6):
        out.append("FROM %s" % w)
        out.append("TO %s" % w.lower())
    ws = pick(words, 8)
    for a, b in zip(ws[::2], ws[1::2]):
        out += ["OR BODY %s BODY %s" % (a, b), "BODY %s BODY %s" % (a, b), "OR NOT BODY %s BODY %s" % (a, b),
                "NOT (BODY %s FROM %s)" % (a, b), "OR (BODY %s SUBJECT %s) FROM %s" % (a, b, b)]
    for p in pick(pieces, 6):
        out.append('CHARSET UTF-8 BODY "%s"' % p)
    out += ['SUBJECT ""', 'NOT SUBJECT ""', 'CC ""', "BODY the", 'BODY "of the"', "TEXT received",
            "SEEN BODY the", "HEADER Message-ID a", "FUZZY BODY the"]
    return out


def imap_login(port):
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login("alice", "pass")
    return m


def search(m, criterion):
    m.select("INBOX")
    if not criterion.isascii():
        # A non-ASCII string goes as a literal: KEY "value" (CHARSET UTF-8 in front).
        k = re.match(r'(?:CHARSET UTF-8 )?(.*?)"([^"]*)"$', criterion)
        m.literal = k.group(2).encode("utf-8")
        typ, data = m.uid("SEARCH", "CHARSET", "UTF-8", k.group(1).strip())
    else:
        typ, data = m.uid("SEARCH", criterion)
    if typ != "OK":
        return "NO " + str(data)
    return sorted(int(x) for x in b" ".join(d for d in data if d).split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailsift", required=True)
    ap.add_argument("--messages", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    if shutil.which("dovecot") is None:
        print("dovecot is not installed (tools/setup.sh installs dovecot-imapd dovecot-solr)")
        return 2
    if os.getuid() != 0:
        print("needs root (Dovecot's mail processes run as dovecot-test)")
        return 2
    subprocess.run(["useradd", "--system", "--no-create-home", "dovecot-test"], stderr=subprocess.DEVNULL)

    root = tempfile.mkdtemp(prefix="mailsift-dovecot-")
    os.chmod(root, 0o755)
    daemon = None
    confs = []
    passed = failed = 0
    try:
        solr_port, fts_port, plain_port = free_port(), free_port(), free_port()
        daemon = subprocess.Popen(stdin=subprocess.DEVNULL, args=[args.mailsift, "serve", "--data", root + "/mailsift", "--socket", root + "/mailsift.sock",
                                   "--listen", "127.0.0.1:%d" % solr_port, "--insecure-loopback", "--log-level", "warning"],
                                  stdout=open(root + "/mailsift.log", "w"), stderr=subprocess.STDOUT)
        if not wait_port(solr_port):
            raise SystemExit("mailsift did not start: " + open(root + "/mailsift.log").read())
        confs.append(start_dovecot(root + "/fts", "dovecot-fts", fts_port, solr_port))
        confs.append(start_dovecot(root + "/plain", "dovecot-plain", plain_port))

        messages = plain_text_messages(args.messages, args.seed)
        extra = [
            b"From: \"Bob Builder\" <bob@lab.example>\r\nTo: alice@lab.example\r\nDate: Mon, 02 Jan 2024 10:00:00 +0000\r\n\r\nno subject here, budget\r\n",
            b"From: carol@lab.example\r\nTo: alice@lab.example\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?= budget\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nM=C3=BCnchen caf=C3=A9 state-of-the-art\r\n",
        ]
        messages += extra
        ft, pl = imap_login(fts_port), imap_login(plain_port)
        for raw in messages:
            for m in (ft, pl):
                typ, data = m.append("INBOX", None, None, raw)
                assert typ == "OK", data
        criteria = criteria_for(messages, args.seed) + ['SUBJECT "Привет"', 'CHARSET UTF-8 BODY "münchen"', "BODY state-of",
                                                          'FROM "Bob Builder"', 'NOT SUBJECT ""']

        def compare(label):
            nonlocal passed, failed
            for c in criteria:
                a, b = search(ft, c), search(pl, c)
                ok = a == b
                passed += ok
                failed += not ok
                print("%s %-4s %s: %s%s" % (label, "ok" if ok else "FAIL", c, a if isinstance(a, str) else len(a),
                                           "" if ok else "  fts=%s plain=%s" % (a, b)))

        compare("appended")
        # Expunge some messages on both, then compare again (Dovecot sends <delete> by id).
        for m in (ft, pl):
            m.select("INBOX")
            m.uid("STORE", "3:7,11", "+FLAGS", r"(\Deleted)")
            m.expunge()
        compare("expunged")
        ft.logout()
        pl.logout()

        # Dovecot must really have used Mailsift: count its Solr requests.
        metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % solr_port, timeout=10).read().decode()
        selects = sum(int(float(x)) for x in re.findall(r'mailsift_http_requests_total\{route="solr_select",status="200"\} (\S+)', metrics))
        updates = sum(int(float(x)) for x in re.findall(r'mailsift_http_requests_total\{route="solr_update",status="200"\} (\S+)', metrics))
        errors = re.findall(r'mailsift_http_requests_total\{route="solr_\w+",status="[45]\d\d"\} (\S+)', metrics)
        print("mailsift answered %d selects and %d updates, %d error statuses" % (selects, updates, sum(int(float(e)) for e in errors)))
        if selects < len(criteria) or updates == 0 or errors:
            failed += 1
            print("FAIL: Dovecot did not search through Mailsift as expected")
        else:
            passed += 1
    finally:
        for c in confs:
            stop_dovecot(c)
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        if args.keep:
            print("kept", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
