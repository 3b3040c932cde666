#!/usr/bin/env python3
"""Regenerates the extraction test fixtures in this folder (run from anywhere).

Synthetic files (written here, no third-party content): sample.docx, sample.xlsx, sample.pptx,
sample.odt, sample.ods, sample.pdf, sample.rtf, invite.ics, contact.vcf, bomb.docx, bomb-lying.docx.
Third-party files (see README.md) are copied from /work/shared/corpus/mime-fixtures when present.
"""
import base64, email, os, struct, zipfile, zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = "/work/shared/corpus/mime-fixtures"
FIXED_DATE = (2024, 1, 2, 3, 4, 5)


def write_zip(name, parts, stored_first=None):
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w") as z:
        if stored_first:
            zi = zipfile.ZipInfo(stored_first[0], FIXED_DATE)
            zi.compress_type = zipfile.ZIP_STORED
            z.writestr(zi, stored_first[1])
        for pname, content in parts:
            zi = zipfile.ZipInfo(pname, FIXED_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, content)


CT = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>'
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'

docx_document = f'''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {W}><w:body>
<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t>Quarterly</w:t></w:r><w:r><w:t xml:space="preserve"> pelican report</w:t></w:r></w:p>
<w:p><w:r><w:t>Revenue</w:t></w:r><w:r><w:tab/><w:t>Fish &amp; Chips &lt;tasty&gt; &#8364;5 &#x263A;</w:t></w:r></w:p>
<w:p><w:r><w:instrText> HYPERLINK "http://ignored.example" </w:instrText></w:r><w:r><w:t>line one</w:t><w:br/><w:t>line two</w:t></w:r></w:p>
<w:p><mc:AlternateContent><mc:Choice Requires="wps"><w:r><w:t>chosen</w:t></w:r></mc:Choice><mc:Fallback><w:r><w:t>fallbackdup</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>
<w:p><w:r><w:t>Привет мир</w:t></w:r></w:p>
</w:body></w:document>'''
docx_header = f'<?xml version="1.0" encoding="UTF-8"?><w:hdr {W}><w:p><w:r><w:t>Confidential walrus header</w:t></w:r></w:p></w:hdr>'

write_zip("sample.docx", [
    ("[Content_Types].xml", CT),
    ("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'),
    ("word/document.xml", docx_document),
    ("word/header1.xml", docx_header),
])

S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
write_zip("sample.xlsx", [
    ("[Content_Types].xml", CT),
    ("xl/workbook.xml", f'<?xml version="1.0"?><workbook {S}><sheets><sheet name="Budget" sheetId="1"/><sheet name="Other" sheetId="2"/></sheets></workbook>'),
    ("xl/sharedStrings.xml", f'<?xml version="1.0"?><sst {S} count="3" uniqueCount="3"><si><t>Item</t></si><si><t>Cost</t></si><si><r><t>Giraffe</t></r><r><t xml:space="preserve"> food</t></r><rPh><t>PHONETIC</t></rPh></si></sst>'),
    ("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?><worksheet {S}><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>42.5</v></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>Inline okapi</t></is></c><c r="B3" t="b"><v>1</v></c><c r="C3"><f>SUM(B2)</f><v>42.5</v></c></row>'
        '</sheetData></worksheet>'),
    ("xl/worksheets/sheet2.xml", f'<?xml version="1.0"?><worksheet {S}><sheetData><row r="1"><c r="A1" t="str"><v>Second sheet kiwi</v></c></row></sheetData></worksheet>'),
])

A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
def slide(*paras):
    body = "".join("<a:p>" + "".join(f"<a:r><a:t>{r}</a:t></a:r>" for r in p) + "</a:p>" for p in paras)
    return f'<?xml version="1.0"?><p:sld {A}><p:cSld><p:spTree><p:sp><p:txBody>{body}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>'
write_zip("sample.pptx", [
    ("[Content_Types].xml", CT),
    ("ppt/presentation.xml", f'<?xml version="1.0"?><p:presentation {A}/>'),
    ("ppt/slides/slide10.xml", slide(["Tenth slide flamingo"])),
    ("ppt/slides/slide2.xml", slide(["Second slide ", "narwhal"], ["bullet two"])),
    ("ppt/slides/slide1.xml", slide(["Opening slide ", "aardvark"])),
    ("ppt/notesSlides/notesSlide1.xml", f'<?xml version="1.0"?><p:notes {A}><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Speaker notes wombat</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:notes>'),
])

O = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
     'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.2"')
odt_content = f'''<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {O}>
  <office:automatic-styles><style>not text</style></office:automatic-styles>
  <office:body>
    <office:text>
      <text:h text:outline-level="1">Heading hedgehog</text:h>
      <text:p>Alpha<text:s text:c="3"/>beta<text:tab/>gamma<text:line-break/>delta <text:span>span &amp; more</text:span></text:p>
      <text:list><text:list-item><text:p>List item lemur</text:p></text:list-item></text:list>
    </office:text>
  </office:body>
</office:document-content>'''
write_zip("sample.odt", [
    ("content.xml", odt_content),
    ("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>'),
], stored_first=("mimetype", "application/vnd.oasis.opendocument.text"))

ods_content = f'''<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {O}><office:body><office:spreadsheet><table:table table:name="Sheet1">
<table:table-row><table:table-cell><text:p>Name</text:p></table:table-cell><table:table-cell><text:p>Animal</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell><text:p>Bob</text:p></table:table-cell><table:table-cell><text:p>Capybara</text:p></table:table-cell><table:table-cell table:number-columns-repeated="1000"/></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>'''
write_zip("sample.ods", [("content.xml", ods_content)],
          stored_first=("mimetype", "application/vnd.oasis.opendocument.spreadsheet"))

# Zip bombs shaped like a docx (word/document.xml is the bomb entry) or an odt (content.xml).
def bomb(name, size, declared=None, entry="word/document.xml", first=("[Content_Types].xml", None)):
    path = os.path.join(HERE, name)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo(first[0], FIXED_DATE), first[1] if first[1] is not None else CT)
        zi = zipfile.ZipInfo(entry, FIXED_DATE)
        zi.compress_type = zipfile.ZIP_DEFLATED
        with z.open(zi, "w", force_zip64=False) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    if declared is not None:
        # Patch the uncompressed size in the local header and the central directory to lie.
        data = bytearray(open(path, "rb").read())
        name_b = entry.encode()
        i = 0
        while True:
            i = data.find(b"PK\x03\x04", i)
            if i < 0: break
            n, = struct.unpack_from("<H", data, i + 26)
            if data[i + 30:i + 30 + n] == name_b:
                struct.pack_into("<I", data, i + 22, declared)
            i += 4
        i = 0
        while True:
            i = data.find(b"PK\x01\x02", i)
            if i < 0: break
            n, = struct.unpack_from("<H", data, i + 28)
            if data[i + 46:i + 46 + n] == name_b:
                struct.pack_into("<I", data, i + 24, declared)
            i += 4
        open(path, "wb").write(bytes(data))

bomb("bomb.docx", 300 << 20)                 # declares 300 MB: rejected before reading
bomb("bomb-lying.docx", 32 << 20, declared=100)  # declares 100 bytes, expands to 32 MB: stopped while reading
ODT = ("mimetype", "application/vnd.oasis.opendocument.text")
bomb("bomb.odt", 300 << 20, entry="content.xml", first=ODT)
bomb("bomb-lying.odt", 32 << 20, declared=100, entry="content.xml", first=ODT)

# A minimal hand-written PDF with one text line (Helvetica, no fonts embedded).
def make_pdf(text):
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)

open(os.path.join(HERE, "sample.pdf"), "wb").write(make_pdf("Mailsift quarterly zebra report"))

rtf = (rb"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0\froman\fcharset204 Times New Roman;}{\f1\fswiss Arial;}}"
       rb"{\colortbl;\red0\green0\blue0;}{\*\generator Hand 1.0;}{\info{\title Hidden title}{\author Nobody}}"
       b"\n" rb"\pard\plain\f0 \'cf\'f0\'e8\'e2\'e5\'f2 \'e0\'e1\'e2\par" b"\n"
       rb"Euro \u8364? sign and caf\u233\'e9 done\par" b"\n"
       rb"Escapes \{braces\} and \\backslash\tab tabbed\line next line\par" b"\n"
       rb"{\*\unknowndest should not appear}{\pict\pngblip 89504e47 hidden}"
       rb"{\field{\*\fldinst HYPERLINK http://x.example}{\fldrslt link text}}\par" b"\n"
       rb"Emoji \uc1\u-10179?\u-8704? done\par}")
open(os.path.join(HERE, "sample.rtf"), "wb").write(rtf)

ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Mailsift//Fixture//EN\r\nMETHOD:REQUEST\r\n"
       "BEGIN:VEVENT\r\nUID:fixture-1@mailsift.example\r\nDTSTART:20240301T100000Z\r\nDTEND:20240301T110000Z\r\n"
       "SUMMARY:Budget review with the otter team\r\n"
       "LOCATION:Room 42\\, Building B\r\n"
       "DESCRIPTION:Agenda:\\n1. Numbers\\n2. Coffee\\; cake\\nThis line is folded acro\r\n ss two lines.\r\n"
       "ORGANIZER;CN=\"Doe, Jane\":mailto:jane.doe@example.com\r\n"
       "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;CN=Bob Smith:mailto:bob@example.org\r\n"
       "CATEGORIES:Finance,Quarterly\r\n"
       "X-ALT-DESC;FMTTYPE=text/html:<b>ignored html</b>\r\n"
       "END:VEVENT\r\nEND:VCALENDAR\r\n")
open(os.path.join(HERE, "invite.ics"), "wb").write(ics.encode())

vcf = ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Müller\r\nN:Müller;Anna;;Dr.;\r\nNICKNAME:Annie\r\n"
       "ORG:Example GmbH;Research\r\nTITLE:Chief Beekeeper\r\nitem1.EMAIL;TYPE=INTERNET:anna@example.de\r\n"
       "TEL;TYPE=CELL:+49 170 1234567\r\nADR;TYPE=WORK:;;Hauptstraße 5;Berlin;;10115;Germany\r\n"
       "NOTE:Met at the\\nconference\\, 2023\r\nURL:https://example.de/anna\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/AAAA\r\n"
       "END:VCARD\r\n"
       "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=F6rg;Schr=F6der\r\n"
       "NOTE;ENCODING=QUOTED-PRINTABLE:Soft=20line=\r\nbreak continues\r\nEND:VCARD\r\n")
open(os.path.join(HERE, "contact.vcf"), "wb").write(vcf.encode())

# Third-party fixtures, decoded from MIME messages in the shared corpus.
def attachment_from(eml, content_type, out_name):
    src = os.path.join(CORPUS, eml)
    if not os.path.exists(src):
        print("skip (corpus missing):", out_name)
        return
    msg = email.message_from_binary_file(open(src, "rb"))
    for part in msg.walk():
        if part.get_content_type() == content_type:
            open(os.path.join(HERE, out_name), "wb").write(part.get_payload(decode=True))
            return

attachment_from("mailcore2/unittest/data/summary/input/1808-winmail-dat.eml", "application/ms-tnef", "winmail-mailcore2.dat")
attachment_from("flanker/tests/fixtures/messages/attached-pdf.eml", "application/pdf", "flanker-test.pdf")

for f in sorted(os.listdir(HERE)):
    print(f"{os.path.getsize(os.path.join(HERE, f)):>8}  {f}")
