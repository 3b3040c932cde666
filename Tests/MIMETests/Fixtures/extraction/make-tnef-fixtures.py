#!/usr/bin/env python3
"""Writes the TNEF (winmail.dat) fixtures used by Tests/MIMETests/TNEFTests.swift.

Source messages (MimeKit, MIT licence) are read from ../../../../../shared/corpus/mime-fixtures or
$MAILSIFT_SHARED_CORPUS/mime-fixtures. Python 3 standard library only.

tnef-ukr.dat        application/ms-tnef part of mimekit/UnitTests/TestData/tnef/ukr.eml, unchanged.
tnef-rich-text.dat  application/ms-tnef part of mimekit/UnitTests/TestData/tnef/rich-text.eml with every
                    attribute whose payload exceeds 50,000 bytes dropped (the first attachment's attAttachData
                    and the third attachment's attAttachment), so the file stays under 100 KB. The remaining
                    attributes, including their checksums, are byte-for-byte copies.
"""
import email, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
shared = os.environ.get("MAILSIFT_SHARED_CORPUS") or os.path.join(here, "../../../../../shared/corpus")
src = os.path.join(shared, "mime-fixtures/mimekit/UnitTests/TestData/tnef")
if not os.path.isdir(src):
    src = "/work/shared/corpus/mime-fixtures/mimekit/UnitTests/TestData/tnef"


def tnef_part(name):
    with open(os.path.join(src, name), "rb") as f:
        msg = email.message_from_binary_file(f)
    for part in msg.walk():
        if part.get_content_type() == "application/ms-tnef":
            return part.get_payload(decode=True)
    sys.exit("no application/ms-tnef part in " + name)


def drop_large_attributes(data, limit):
    out = bytearray(data[:6])  # signature + key
    pos = 6
    while pos + 9 <= len(data):
        length = struct.unpack("<I", data[pos + 5:pos + 9])[0]
        end = pos + 9 + length + 2
        if length <= limit:
            out += data[pos:end]
        pos = end
    return bytes(out)


def write(name, data):
    assert len(data) < 100_000, (name, len(data))
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
    print(name, len(data))


write("tnef-ukr.dat", tnef_part("ukr.eml"))
write("tnef-rich-text.dat", drop_large_attributes(tnef_part("rich-text.eml"), 50_000))
