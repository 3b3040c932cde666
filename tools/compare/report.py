#!/usr/bin/env python3
"""Turn results/<corpus>/*.json (written by run.sh / bench.py) into a markdown report.

Usage: report.py RESULTS_DIR   (prints markdown on stdout)
"""
import json
import os
import sys

ORDER = ["mailsift", "notmuch", "mu", "dovecot-fts-xapian", "sqlite-fts5"]
QORDER = ["mailsift", "mailsift (in-process)", "mailsift-imap", "mailsift-imap (in-process)",
          "dovecot-fts-xapian", "notmuch", "mu", "sqlite-fts5"]

# What each engine's query means; used to explain count differences.
SEMANTICS = {
    "mailsift": "Mailsift webmail query: a bare word matches that word (case- and "
                "diacritic-folded, no stemming) in **every field, headers included** (subject, "
                "addresses, List-Id and the other indexed header fields, body, attachment text); "
                "phrases by position; `from:` matches the word/address in From.",
    "mailsift-imap": "Mailsift IMAP SEARCH: RFC 9051 semantics, exactly — `BODY s` is a "
                     "case-insensitive **substring** of the decoded body text (every text part, "
                     "HTML as text, attachment text), so it matches inside words and across "
                     "punctuation; `FROM s` a substring of the decoded From addresses/names; "
                     "headers are not in BODY.",
    "dovecot-fts-xapian": "Dovecot + fts-xapian 1.5: the same IMAP keys, answered from a Xapian "
                          "index of n-grams (partial=3 … full=20) of the words; a key is split "
                          "into words by fts-xapian's own tokenizer and each word looked up as an "
                          "n-gram, so a phrase is matched as its words (in any order and place) "
                          "and punctuation/character handling differs from Mailsift's exact "
                          "substring check.",
    "notmuch": "notmuch 0.37: free text matches words in body, subject and From/To/Cc (not "
               "List-Id or other headers); **English stemming** for lowercase words "
               "(`meeting` also matches `meet`, `meetings`); phrases unstemmed; `*` prefix; no "
               "substring; counts are **distinct Message-IDs** (files sharing a Message-ID "
               "are one message).",
    "mu": "mu 1.8: a bare word is matched in the subject and body only (an address is "
          "indexed as one whole term, reachable with `from:`/`to:`/`contact:`; other headers "
          "are not searched); no stemming; `*` prefix (via regex); no substring.",
    "sqlite-fts5": "SQLite FTS5, tokenize='unicode61': a token is a run of letters/digits (so "
                   "`dsterba@suse.cz` is the phrase `dsterba suse cz`), case- and "
                   "diacritic-folded, no stemming; only From, To/Cc/Bcc, Subject and the "
                   "text/plain + tag-stripped text/html parts are indexed (no other headers, no "
                   "attachments); messages Python's email package could not parse are missing.",
}

CLASS_REASONS = {
    "substring": "IMAP `BODY` keys match inside words (`{q}` also in longer words); the "
                 "word-based engines cannot express this and are not run.",
    "prefix": "prefix queries expand to every indexed term starting with the stem; engines "
              "differ in what terms exist (stemmed forms, tokens split at punctuation, header "
              "words).",
    "phrase": "Mailsift, notmuch, mu and FTS5 match the words consecutively; IMAP `BODY "
              "\"a b\"` is the character string with exactly one space (Mailsift-IMAP), "
              "fts-xapian checks the words' n-grams only.",
    "from: sender": "Address matching: Mailsift indexes an address as one term plus its parts, "
                    "FTS5 as a phrase of tokens, IMAP FROM as a substring of the decoded "
                    "header (display name included).",
    "two-word AND": "Both words anywhere in the message; for the IMAP keys both in the body.",
    "no match": "",
}


def load(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    res = {}
    for f in os.listdir(d):
        if f.endswith(".json") and f != "meta.json":
            try:
                r = json.load(open(os.path.join(d, f)))
                res[r.get("engine", f[:-5])] = r
            except Exception as e:  # noqa: BLE001
                res[f[:-5]] = {"engine": f[:-5], "error": f"unreadable result file: {e}"}
    return meta, res


def fmt(v, nd=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def ms(v):
    if v is None:
        return "—"
    if v < 1:
        return f"{v:.3f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def md_escape(s):
    return s.replace("|", "\\|")


def main():
    d = sys.argv[1]
    meta, res = load(d)
    out = []
    p = out.append
    lim = f", first {meta['limit']} messages" if meta.get("limit") else ""
    p(f"# Mail search comparison: {meta['corpus']}{lim}\n")
    p(f"{meta['files']:,} message files, {meta['mail_bytes'] / 1e6:,.1f} MB of mail "
      f"({meta['mail_bytes_how']}); {meta['date']}, {meta['cpus']} CPUs, "
      f"{meta['mem_gib']} GiB RAM, Debian {meta['debian']}, kernel {meta['kernel']}.\n")
    vers = [f"{e}: {res[e].get('version', '?')}" for e in ORDER if e in res]
    if vers:
        p("Versions: " + "; ".join(vers) + ".\n")

    # ---- indexing
    p("## Indexing\n")
    p("Each engine indexes the same staged Maildir from scratch, page cache warm, one at a time. "
      "CPU = user + sys; peak RSS = GNU time's maximum resident set size; index MB = 10^6 bytes "
      "on disk." + (f" Each engine indexed {meta['index_runs']} times from scratch; the row is "
                    "the run with the median wall time (all the runs' wall times are in the "
                    "notes)." if meta.get("index_runs", 1) > 1 else "") + "\n")
    p("| engine | messages | wall s | CPU s | msg/s | peak RSS MiB | index MB | % of mail | notes |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    errors = []
    for e in ORDER + sorted(set(res) - set(ORDER)):
        if e not in res:
            continue
        r = res[e]
        ix = r.get("index")
        if not ix:
            p(f"| {e} | error | | | | | | | {md_escape(r.get('error', 'no result')[:300])} |")
            errors.append((e, r.get("error", "no result")))
            continue
        p(f"| {e} | {fmt(ix.get('messages'))} | {fmt(ix['wall_s'], 2)} | {fmt(ix['cpu_s'], 2)} | "
          f"{fmt(ix.get('msg_per_s'), 0)} | {fmt(ix['peak_rss_kib'] / 1024, 1)} | "
          f"{fmt(ix['index_bytes'] / 1e6, 1)} | {fmt(ix.get('index_pct_of_mail'), 1)} | "
          f"{md_escape(ix.get('notes', ''))} |")
        if r.get("error"):
            errors.append((e, r["error"]))
    p("")
    # Mailsift against the fastest peer and the smallest peer index, as ratios.
    ours = res.get("mailsift", {}).get("index")
    peers = [(e, res[e]["index"]) for e in res if e != "mailsift" and res[e].get("index")
             and res[e]["index"].get("index_bytes", 0) > 0 and res[e]["index"].get("msg_per_s")]
    if ours and peers and ours.get("msg_per_s"):
        fast = max(peers, key=lambda x: x[1].get("msg_per_s") or 0)
        small = min(peers, key=lambda x: x[1]["index_bytes"])
        p(f"Mailsift indexed {ours['msg_per_s'] / fast[1]['msg_per_s']:.1f}× the messages/s "
          f"of the fastest peer ({fast[0]}, {fast[1]['msg_per_s']:,.0f} msg/s); its index is "
          f"{100 * ours['index_bytes'] / small[1]['index_bytes']:.0f}% of the smallest peer "
          f"index ({small[0]}, {small[1]['index_bytes'] / 1e6:,.1f} MB).\n")

    # ---- queries
    rows = [q for e in res for q in res[e].get("queries", [])]
    qids = []
    for e in ORDER:
        for q in res.get(e, {}).get("queries", []):
            if q["id"] not in qids:
                qids.append(q["id"])
    p("## Queries\n")
    p(f"Median and p99 of {meta['runs']} runs of each engine's command-line tool after one "
      f"untimed warm-up (p99 by nearest rank: with fewer than 100 runs it is the slowest run). **CLI rows include "
      f"process start-up** (and, for doveadm, the connection to the auth process). The "
      f"`(in-process)` rows are Mailsift's own `--repeat-count {meta['inproc_runs']}` timing of "
      f"the same query inside one process: median and p90 (it reports no p99). "
      f"Page commands: Mailsift webmail, notmuch, mu and FTS5 fetch a page of 20 (each in its "
      f"own order) and the count is taken by a separate untimed command; IMAP engines "
      f"(mailsift-imap, dovecot) return all matching UIDs.\n")
    p("| query | engine | count | median ms | p99 ms | note |")
    p("|---|---|---:|---:|---:|---|")
    for qid in qids:
        qrows = [r for r in rows if r["id"] == qid]
        qrows.sort(key=lambda r: QORDER.index(r["engine"]) if r["engine"] in QORDER else 99)
        first = True
        for r in qrows:
            label = f"**{qid}** ({r['class']})" if first else ""
            first = False
            qtext = f"`{md_escape(r['query'])}`" if r.get("query") and r["query"] != "-" else ""
            if r.get("unsupported"):
                p(f"| {label} | {r['engine']} | n/a | | | cannot express it |")
                continue
            if r.get("error"):
                p(f"| {label} | {r['engine']} {qtext} | error | | | "
                  f"{md_escape(r['error'][:200])} |")
                continue
            if "p90_ms" in r:
                p(f"| {label} | {r['engine']} | {fmt(r.get('count'))} | {ms(r['median_ms'])} | — | "
                  f"p90 {ms(r['p90_ms'])} ms, ×{r['runs']} in one process |")
            else:
                p(f"| {label} | {r['engine']} {qtext} | {fmt(r.get('count'))} | "
                  f"{ms(r['median_ms'])} | {ms(r['p99_ms'])} | |")
    p("")

    # ---- counts
    p("## Result counts differ because\n")
    p("Counts are what each engine answers for its own spelling of the query "
      "(queries-<corpus>.tsv); they are not expected to agree. Per query:\n")
    any_diff = False
    for qid in qids:
        qrows = [r for r in rows if r["id"] == qid and "count" in r
                 and not r["engine"].endswith("(in-process)")]
        counts = {r["engine"]: r["count"] for r in qrows}
        if len(set(counts.values())) <= 1:
            continue
        any_diff = True
        cls = qrows[0]["class"]
        qtext = {r["engine"]: r["query"] for r in qrows}
        listing = ", ".join(f"{e} {counts[e]:,}" for e in QORDER if e in counts)
        p(f"- **{qid}** ({cls}): {listing}.")
        ms_web, ms_imap = counts.get("mailsift"), counts.get("mailsift-imap")
        notes = []
        if ms_web is not None and ms_imap is not None and ms_web != ms_imap:
            if ms_imap > ms_web:
                notes.append(f"mailsift-imap more than mailsift: `{qtext['mailsift-imap']}` is a "
                             f"substring match, so it also finds the letters inside longer words "
                             f"(plurals, `_`-joined identifiers, compounds) that the word query "
                             f"`{qtext['mailsift']}` does not.")
            else:
                notes.append(f"mailsift-imap fewer than mailsift: `{qtext['mailsift-imap']}` "
                             f"looks in the body only; the webmail query `{qtext['mailsift']}` "
                             f"also matches the subject, addresses and other headers (List-Id, "
                             f"…).")
        dv = counts.get("dovecot-fts-xapian")
        if ms_imap is not None and dv is not None and dv != ms_imap:
            if dv > ms_imap:
                notes.append("dovecot more than mailsift-imap (same IMAP keys): fts-xapian splits "
                             "the key into pieces at spaces and punctuation, drops pieces shorter "
                             "than 3 characters and matches each remaining piece anywhere in the "
                             "field (a phrase as separate words; `x@suse.cz` as `x` + `suse`, "
                             "which also matches x@suse.com), and Dovecot does not re-check the "
                             "message text: false positives by RFC 9051's substring rule.")
            else:
                notes.append("dovecot fewer than mailsift-imap (same IMAP keys): fts-xapian misses "
                             "occurrences its tokenizer makes no n-gram for: inside e-mail "
                             "addresses, URLs and other long tokens of the body, and pieces under "
                             "3 characters; Dovecot trusts the index, so they are not found.")
        why = {
            ("notmuch", "fewer"): "notmuch fewer than mailsift: free text covers body, subject "
                                  "and addresses only (not List-Id or other headers), and Xapian "
                                  "keeps `_`-joined identifiers as one word (`foo_balance` is not "
                                  "`balance`); its count is of distinct Message-IDs.",
            ("notmuch", "more"): "notmuch more than mailsift: English stemming (a lowercase word "
                                 "also matches its inflections, e.g. plurals and -ed/-ing forms).",
            ("mu", "fewer"): "mu fewer than mailsift: a bare word is looked up in subject and "
                             "body only (addresses are whole-address terms, other headers are "
                             "not searched), no stemming, `_`-joined identifiers kept as one "
                             "word.",
            ("mu", "more"): "mu more than mailsift: mu's parser and tokenizer differ (e.g. it "
                            "splits some tokens Mailsift keeps whole).",
            ("sqlite-fts5", "fewer"): "sqlite-fts5 fewer than mailsift: it indexes only "
                                      "From/To/Cc/Subject and the text parts (no List-Id or "
                                      "other headers, no attachment text).",
            ("sqlite-fts5", "more"): "sqlite-fts5 more than mailsift: unicode61 splits at every "
                                     "non-alphanumeric character (an address or file name is a "
                                     "phrase of its pieces, which can match elsewhere).",
        }
        for e in ("notmuch", "mu", "sqlite-fts5"):
            if e in counts and ms_web is not None and counts[e] != ms_web:
                notes.append(why[(e, "more" if counts[e] > ms_web else "fewer")])
        if cls in CLASS_REASONS:
            notes.append(CLASS_REASONS[cls].format(q=qtext.get("mailsift-imap", "")))
        for n in notes:
            p(f"  - {n}")
    if not any_diff:
        p("All engines agree on every query.")
    p("\n### What each engine's query means\n")
    for e in ["mailsift", "mailsift-imap", "dovecot-fts-xapian", "notmuch", "mu", "sqlite-fts5"]:
        p(f"- **{e}**: {SEMANTICS[e]}")
    p("")

    if errors:
        p("## Errors\n")
        for e, err in errors:
            p(f"- **{e}**: {md_escape(err[:1500])}")
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
