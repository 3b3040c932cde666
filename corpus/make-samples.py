#!/usr/bin/env python3
"""Writes the small sample messages in corpus/samples/ (written for Mailsift, public domain).

Each exercises a feature of the MIME layer; tests assert what Mailsift reads in them.
Run again to regenerate; the output is deterministic.
"""
import base64, os, quopri

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "samples")
os.makedirs(OUT, exist_ok=True)

def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data.replace(b"\n", b"\r\n") if not name.endswith("-lf.eml") else data)

def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width))

# 1. Plain text, RFC 2047 subject (Q, ISO-8859-1) and From (B, UTF-8), quoted-printable body.
body = "Hallo Anna,\n\nanbei die Übersicht für das dritte Quartal. Grüße aus Zürich!\n\n-- \nJürgen\n"
write("01-latin1-qp.eml", (
    "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen.mueller@example.ch>\n"
    "To: Anna Rossi <anna.rossi@example.org>, \"Doe, John\" <john@example.com>\n"
    "Subject: =?ISO-8859-1?Q?Quartals=FCbersicht_Q3?=\n"
    "Date: Tue, 1 Oct 2024 09:30:00 +0200\n"
    "Message-ID: <q3-summary-1@example.ch>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n\n"
).encode() + quopri.encodestring(body.encode("iso-8859-1")))

# 2. multipart/alternative (text + HTML) with a PDF-less attachment named by RFC 2231.
html = "<html><head><style>p{color:red}</style></head><body><p>The <b>invoice</b> for March&nbsp;2024 is attached.</p><script>track()</script></body></html>"
write("02-alternative-attachment.eml", (
    "From: Billing <billing@example.net>\n"
    "To: customer@example.org\n"
    "Subject: Your invoice for March 2024\n"
    "Date: Mon, 01 Apr 2024 08:00:00 -0400\n"
    "Message-ID: <inv-2024-03@example.net>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
    "This is a multi-part message in MIME format.\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=\"inner\"\n\n"
    "--inner\n"
    "Content-Type: text/plain; charset=us-ascii\n\n"
    "The invoice for March 2024 is attached.\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n\n" + html + "\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: text/csv; name=\"ignored.csv\"\n"
    "Content-Disposition: attachment;\n"
    " filename*0*=UTF-8''Rechnung%20M%C3%A4rz;\n"
    " filename*1=\"-2024.csv\"\n"
    "Content-Transfer-Encoding: base64\n\n" + b64("item;amount\nmailbox hosting;12.50\nsearch add-on;3.00\n".encode()) + "\n"
    "--outer--\n"))

# 3. Japanese: ISO-2022-JP subject and body.
jbody = "会議の資料を送ります。よろしくお願いします。\n"
subj = "=?ISO-2022-JP?B?" + base64.b64encode("会議の資料".encode("iso-2022-jp")).decode() + "?="
write("03-iso-2022-jp.eml", (
    "From: =?ISO-2022-JP?B?" + base64.b64encode("山田太郎".encode("iso-2022-jp")).decode() + "?= <taro@example.jp>\n"
    "To: hanako@example.jp\n"
    "Subject: " + subj + "\n"
    "Date: Wed, 15 May 2024 10:00:00 +0900\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=ISO-2022-JP\n"
    "Content-Transfer-Encoding: 7bit\n\n").encode() + jbody.encode("iso-2022-jp"))

# 4. Russian in KOI8-R, 8-bit, with a raw (unencoded) 8-bit subject.
rbody = "Привет! Отчёт за неделю во вложении.\n"
write("04-koi8r-raw-header.eml", (
    b"From: Ivan Petrov <ivan@example.ru>\n"
    b"To: team@example.ru\n"
    b"Subject: " + "Отчёт за неделю".encode("koi8-r") + b"\n"
    b"Date: Fri, 7 Jun 2024 18:45:00 +0300\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=koi8-r\n"
    b"Content-Transfer-Encoding: 8bit\n\n" + rbody.encode("koi8-r")))

# 5. format=flowed with DelSp=yes, and a forwarded message/rfc822.
write("05-flowed-forward.eml", (
    "From: Carol <carol@example.com>\n"
    "To: dave@example.com\n"
    "Subject: Fwd: deployment window\n"
    "Date: Thu, 20 Jun 2024 14:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b1\n\n"
    "--b1\n"
    "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n\n"
    "See the message below: the deploy \n"
    "ment window moves to Saturday.\n"
    "--b1\n"
    "Content-Type: message/rfc822\n\n"
    "From: Ops <ops@example.com>\n"
    "To: carol@example.com\n"
    "Subject: deployment window\n"
    "Date: Wed, 19 Jun 2024 09:00:00 +0000\n\n"
    "The maintenance window is Saturday 02:00-04:00 UTC.\n"
    "--b1--\n"))

# 6. Broken: no blank line after headers, bare LF, missing final boundary, bad base64.
write("06-broken-lf.eml", (
    "From: broken@example.com\n"
    "Subject: broken structure\n"
    "Content-Type: multipart/mixed; boundary=\"zzz\"\n"
    "--zzz\n"
    "Content-Type: text/plain\n"
    "Content-Transfer-Encoding: base64\n\n"
    "VGhpcyBib2R5IGhhcyBnYXJiYWdlICEhIGluc2lkZSBiYXNlNjQ=!!!\n"
    "--zzz\n"
    "Content-Type: text/plain; charset=x-no-such-charset\n\n"
    "caf\xe9 au lait\n").encode("latin-1"))

# 7. An iCalendar invitation and a vCard.
write("07-calendar-vcard.eml", (
    "From: Calendar <cal@example.com>\n"
    "To: erin@example.com\n"
    "Subject: Invitation: Quarterly review\n"
    "Date: Mon, 02 Sep 2024 12:00:00 +0000\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=cal\n\n"
    "--cal\n"
    "Content-Type: text/plain\n\n"
    "You are invited.\n"
    "--cal\n"
    "Content-Type: text/calendar; method=REQUEST; charset=utf-8\n\n"
    "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Quarterly review\n"
    "LOCATION:Room Matterhorn\\, 3rd floor\nDESCRIPTION:Agenda: numbers\\nand plans\n"
    "ORGANIZER;CN=Frank Ocean:mailto:frank@example.com\nATTENDEE;CN=Erin Brock:mailto:erin@example.com\n"
    "DTSTART:20240910T090000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    "--cal\n"
    "Content-Type: text/vcard; name=frank.vcf\n"
    "Content-Disposition: attachment; filename=frank.vcf\n\n"
    "BEGIN:VCARD\nVERSION:3.0\nFN:Frank Ocean\nORG:Example Corp\nEMAIL:frank@example.com\nTEL:+41 21 555 01 02\nEND:VCARD\n"
    "--cal--\n"))

# 8. An mbox with two messages and a quoted ">From " line.
write("08-two-messages.mbox", (
    "From alice@example.com Sat Jan  6 10:00:00 2024\n"
    "From: alice@example.com\nTo: bob@example.com\nSubject: first\nDate: Sat, 6 Jan 2024 10:00:00 +0000\n\n"
    "First message.\n>From the archive: this line was quoted by the mbox writer.\n\n"
    "From bob@example.com Sun Jan  7 11:00:00 2024\n"
    "From: bob@example.com\nTo: alice@example.com\nSubject: second\nDate: Sun, 7 Jan 2024 11:00:00 +0000\n\n"
    "Second message.\n"))
