#!/usr/bin/env python3
"""Seed inputs for the fuzz targets that come from files rather than code:
mail from ../shared/corpus (when present) for `message` and `document`, and small Office and
OpenDocument files (made here with zipfile) for `attachment`, each behind the type byte the
target reads (FuzzTargets.attachmentTypes). Usage: make-seeds.py OUTDIR [SHARED_CORPUS]."""
import io, os, sys, zipfile, hashlib

out = sys.argv[1]
corpus = sys.argv[2] if len(sys.argv) > 2 else None

def write(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "file-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

def zipped(entries):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in entries:
            z.writestr(name, text)
    return b.getvalue()

docx = zipped([("[Content_Types].xml", "<Types/>"),
               ("word/document.xml", '<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Quarterly</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> report &amp; caf\u00e9</w:t></w:r></w:p></w:body></w:document>')])
xlsx = zipped([("[Content_Types].xml", "<Types/>"),
               ("xl/sharedStrings.xml", '<sst><si><t>Revenue</t></si><si><r><t>Q4 </t></r><r><t>total</t></r></si></sst>'),
               ("xl/worksheets/sheet1.xml", '<worksheet><sheetData><row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c><v>42.5</v></c><c t="inlineStr"><is><t>inline</t></is></c></row></sheetData></worksheet>')])
pptx = zipped([("[Content_Types].xml", "<Types/>"),
               ("ppt/slides/slide1.xml", '<p:sld xmlns:a="a" xmlns:p="p"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>Roadmap 2025</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>')])
odt = zipped([("mimetype", "application/vnd.oasis.opendocument.text"),
              ("content.xml", '<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text><text:p>Minutes<text:s/>of<text:tab/>the meeting</text:p><text:h>Heading</text:h></office:text></office:body></office:document-content>')])
for tag, data in [(0, docx), (1, xlsx), (2, pptx), (3, odt)]:
    write("attachment", bytes([tag]) + data)

if corpus and os.path.isdir(corpus):
    picked = []
    for root, _, files in os.walk(os.path.join(corpus, "mime-fixtures")):
        for name in sorted(files):
            p = os.path.join(root, name)
            if os.path.getsize(p) <= 64 * 1024 and not name.endswith(".md"):
                picked.append(p)
    spam = os.path.join(corpus, "spamassassin-public-corpus", "spam_2")
    if os.path.isdir(spam):
        picked += [os.path.join(spam, n) for n in sorted(os.listdir(spam))[:200]]
    for p in picked:
        with open(p, "rb") as f:
            data = f.read()
        write("message", data)
        write("document", data)
