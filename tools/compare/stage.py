#!/usr/bin/env python3
"""Stage a corpus as one Maildir (cur/new/tmp, every message in cur/) for the peers.

Usage: stage.py CORPUS_NAME SOURCE_DIR STAGE_DIR [LIMIT]

The messages are the regular files under SOURCE_DIR (recursively; for a Maildir source
the files in its cur/ and new/ and those of its Maildir++ folders), sorted by relative path; with LIMIT only the first LIMIT of them.
Each becomes STAGE_DIR/cur/<name>, hard-linked to the original when both are on one
filesystem (else copied). The name is Maildir-shaped and unique:
  <6-digit sequence>.<flattened relative path>:2,<flags>
(flags kept from a source Maildir name; none for plain message files).

Idempotent: when STAGE_DIR/manifest.tsv already lists the same selection the stage is
kept as it is. Prints one JSON object: files, bytes (sum of the file sizes), stage path.
"""
import json
import os
import re
import shutil
import sys


def source_files(src):
    out = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        rel_root = os.path.relpath(root, src)
        parts = rel_root.split(os.sep)
        if os.path.isdir(os.path.join(src, "cur")) and parts[-1] not in ("cur", "new"):
            continue  # a Maildir (with Maildir++ folders): mail is in cur/ and new/ only
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p) and not f.startswith("."):
                out.append(os.path.relpath(p, src))
    out.sort()
    return out


def staged_name(i, rel):
    base = os.path.basename(rel)
    flags = ""
    if ":2," in base:
        base, flags = base.split(":2,", 1)
    head = os.path.dirname(rel)
    parts = [p for p in head.split(os.sep) if p and p not in ("cur", "new", "inbox")]
    flat = ".".join(parts + [base])
    flat = re.sub(r"[^A-Za-z0-9_.-]", "_", flat).strip(".") or "m"
    flags = "".join(sorted(c for c in flags if c in "DFPRST"))
    return f"{i:06d}.{flat}:2,{flags}"


def main():
    corpus, src, stage = sys.argv[1], sys.argv[2], sys.argv[3]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] not in ("", "0") else None
    files = source_files(src)
    if limit is not None:
        files = files[:limit]
    manifest = os.path.join(stage, "manifest.tsv")
    wanted = "".join(f"{staged_name(i, r)}\t{r}\n" for i, r in enumerate(files))
    fresh = True
    if os.path.exists(manifest):
        with open(manifest) as fh:
            if fh.read() == wanted:
                fresh = False
    mail = os.path.join(stage, "mail")
    if fresh:
        if os.path.exists(stage):
            shutil.rmtree(stage)
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(mail, d))
        linked = True
        for i, r in enumerate(files):
            dst = os.path.join(mail, "cur", staged_name(i, r))
            s = os.path.join(src, r)
            if linked:
                try:
                    os.link(s, dst)
                    continue
                except OSError:
                    linked = False
            shutil.copy2(s, dst)
        with open(manifest, "w") as fh:
            fh.write(wanted)
    total = 0
    for r in files:
        total += os.path.getsize(os.path.join(src, r))
    print(json.dumps({"corpus": corpus, "source": src, "stage": mail, "files": len(files),
                      "bytes": total, "restaged": fresh}))


if __name__ == "__main__":
    main()
