#!/usr/bin/env python3
"""A minimal SQLite FTS5 mail indexer, the "what you would write in an afternoon" baseline.

Usage: fts5_index.py MAILDIR DB

Parses every file in MAILDIR/cur and MAILDIR/new with Python's email package
(policy.default: RFC 2047 headers decoded, text parts decoded from their charset) and
inserts one row per message into an FTS5 table

  CREATE VIRTUAL TABLE mail USING fts5(path UNINDEXED, sender, recipients, subject, body,
                                       tokenize='unicode61')

sender = From; recipients = To + Cc + Bcc; body = every text/plain part, plus text/html
parts with tags stripped (attachments are not extracted). Rows go in one transaction,
then 'optimize' merges the FTS5 b-trees into one (the counterpart of `mailsift index
--compact`). Prints "indexed N messages (E unreadable) in S s".
"""
import email
import email.header
import email.policy
import html
import os
import re
import sqlite3
import sys
import time

TAG = re.compile(r"(?is)<(script|style)\b.*?</\1\s*>|<[^>]*>")


def part_text(part):
    try:
        text = part.get_content()
        if isinstance(text, bytes):
            text = text.decode("latin-1", "replace")
        return text
    except Exception:  # unknown charset, broken transfer encoding...
        payload = part.get_payload(decode=True) or b""
        return payload.decode("latin-1", "replace")


def header(msg, name):
    """The decoded values of a header field, joined; falls back to the raw value (RFC 2047
    decoded by the compat API) when policy.default cannot parse the field."""
    out = []
    for key, raw in msg.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            out.append(str(msg.policy.header_factory(key, "".join(str(raw).splitlines()))))
        except Exception:
            try:
                out.append(str(email.header.make_header(email.header.decode_header(raw))))
            except Exception:
                out.append(str(raw))
    return " ".join(out)


def message_row(path):
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    bodies = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            continue
        if ctype == "text/plain":
            bodies.append(part_text(part))
        elif ctype == "text/html":
            bodies.append(html.unescape(TAG.sub(" ", part_text(part))))
    recipients = " ".join(header(msg, h) for h in ("To", "Cc", "Bcc"))
    return (path, header(msg, "From"), recipients, header(msg, "Subject"), "\n".join(bodies))


def main():
    maildir, db = sys.argv[1], sys.argv[2]
    start = time.monotonic()
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE VIRTUAL TABLE mail USING fts5(path UNINDEXED, sender, recipients, "
                "subject, body, tokenize='unicode61')")
    n = bad = 0
    rows = []
    for sub in ("cur", "new"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            try:
                rows.append(message_row(os.path.join(d, name)))
                n += 1
            except Exception as e:  # noqa: BLE001 - count and go on, as an indexer must
                bad += 1
                print(f"unreadable {name}: {e}", file=sys.stderr)
            if len(rows) >= 1000:
                con.executemany("INSERT INTO mail VALUES (?,?,?,?,?)", rows)
                rows.clear()
    if rows:
        con.executemany("INSERT INTO mail VALUES (?,?,?,?,?)", rows)
    con.commit()
    con.execute("INSERT INTO mail(mail) VALUES ('optimize')")
    con.commit()
    con.close()
    print(f"indexed {n} messages ({bad} unreadable) in {time.monotonic() - start:.2f} s")


if __name__ == "__main__":
    main()
