#!/usr/bin/env python3
"""Synthetic mail servers for scale tests: a Dovecot-layout tree (one home per user with a
Maildir, Maildir++ folders and dovecot-uidlists) of realistic messages.

Usage:
  tools/gen-mail.py OUT --users N --messages M [--seed S] [--corpus ../shared/corpus]

- Vocabulary: word frequencies counted from real mail in the shared corpus (English from the
  SpamAssassin ham, other languages from the messages NON-ENGLISH.tsv lists: Latin with
  diacritics, Han, Cyrillic, Kana, Hangul, Greek...), sampled by those frequencies, so the
  words follow the corpus's own Zipf curve. About 1 message in 12 is written in another
  language than English.
- Messages: From/To/Cc with display names from a per-server population (each user has
  correspondents), Subjects from the vocabulary, threads (Re:, In-Reply-To, References),
  mailing-list messages (List-Id), dates over three years, text/plain (quoted-printable when
  not ASCII), some multipart/alternative with HTML, some with a text attachment or a
  base64 binary one.
- Layout: OUT/<user>/Maildir/{cur,new} plus .Sent, .Archive, .Lists.<name>; file names as
  Dovecot writes them (`<time>.M<n>P<pid>.<host>:2,<flags>`), a dovecot-uidlist per folder.

Deterministic for a given seed. Written for Mailsift; public domain.
"""
import argparse, base64, email.utils, os, quopri, random, re, sys, time
from email.parser import BytesParser
from email import policy

WORD = re.compile(r"[^\W\d_]{2,24}", re.UNICODE)


def vocabulary(corpus, rng):
    """{language: (words, cumulative weights)} from real mail."""
    def count(paths, limit):
        counts = {}
        for p in paths[:limit]:
            try:
                with open(p, "rb") as f:
                    msg = BytesParser(policy=policy.default).parse(f)
                text = []
                for part in msg.walk():
                    if part.get_content_type() == "text/plain":
                        try:
                            text.append(part.get_content())
                        except Exception:
                            pass
                text.append(str(msg.get("subject", "")))
                for w in WORD.findall(" ".join(text)):
                    w = w.lower()
                    counts[w] = counts.get(w, 0) + 1
            except Exception:
                continue
        return counts

    langs = {}
    ham = os.path.join(corpus, "spamassassin-public-corpus", "easy_ham")
    english = sorted(os.path.join(ham, n) for n in os.listdir(ham)) if os.path.isdir(ham) else []
    langs["en"] = count(english, 1500)
    listing = os.path.join(corpus, "NON-ENGLISH.tsv")
    if os.path.exists(listing):
        by_script = {}
        for line in open(listing, encoding="utf-8"):
            f = line.rstrip("\n").split("\t")
            if len(f) != 3 or line.startswith("#") or f[0] == "script":
                continue
            by_script.setdefault(f[0], []).append(os.path.join(corpus, f[2]))
        for script, paths in by_script.items():
            c = count(paths, 200)
            # Keep the words of that script (the messages also hold English).
            if script != "LatinExt":
                c = {w: n for w, n in c.items() if any(ord(ch) > 0x24F for ch in w)}
            else:
                c = {w: n for w, n in c.items() if any(0xC0 <= ord(ch) <= 0x24F for ch in w)} or c
            if len(c) >= 50:
                langs[script] = c
    if not langs.get("en"):
        # No corpus: a small built-in list keeps the generator usable.
        base = ("the of and to in is that for it with as was on be by this are have from or at not"
                " message mail server please meeting report project team review update attached thanks").split()
        langs["en"] = {w: 1000 // (i + 1) for i, w in enumerate(base)}
    out = {}
    for lang, counts in langs.items():
        words = sorted(counts, key=lambda w: (-counts[w], w))[:20000]
        cum, total = [], 0
        for w in words:
            total += counts[w]
            cum.append(total)
        out[lang] = (words, cum)
    return out


class Server:
    FIRST = ["Anna", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kim", "Lena", "Marco",
             "Nadia", "Olga", "Pavel", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Viktor", "Wen", "Yusuf", "Zoë"]
    LAST = ["Abe", "Brown", "Castro", "Dubois", "Eriksen", "Fischer", "García", "Huang", "Ivanova", "Jensen", "Kowalski",
            "López", "Müller", "Nakamura", "Olsen", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Wójcik"]
    DOMAINS = ["example.com", "example.org", "example.net", "mail.example.de", "corp.example.co.jp", "example.fr"]
    LISTS = ["dev", "announce", "users", "ops", "sales", "linux-kernel", "pgsql-hackers"]

    def __init__(self, rng, vocab):
        self.rng = rng
        self.vocab = vocab
        self.langs = [l for l in vocab if l != "en"]
        self.people = []
        for i in range(2000):
            first, last = rng.choice(self.FIRST), rng.choice(self.LAST)
            local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or f"user{i}"
            self.people.append((f"{first} {last}", f"{local}{i % 97}@{rng.choice(self.DOMAINS)}"))

    def words(self, n, lang="en"):
        words, cum = self.vocab[lang]
        return [words[min(len(words) - 1, bisect(cum, self.rng.random() * cum[-1]))] for _ in range(n)]

    def sentence(self, lang):
        w = self.words(self.rng.randint(4, 16), lang)
        sep = "" if lang in ("Han", "Kana") else " "
        s = sep.join(w)
        return s[:1].upper() + s[1:] + ("。" if lang in ("Han", "Kana") else ".")

    def body(self, lang):
        paras = []
        for _ in range(max(1, int(self.rng.expovariate(1 / 3)))):
            paras.append(" ".join(self.sentence(lang) for _ in range(self.rng.randint(1, 6))))
        return "\n\n".join(paras)


def bisect(cum, x):
    lo, hi = 0, len(cum)
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def header(name, value):
    if all(ord(c) < 128 for c in value):
        return f"{name}: {value}\n"
    return f"{name}: =?UTF-8?B?{base64.b64encode(value.encode()).decode()}?=\n"


def address(display, addr):
    if all(ord(c) < 128 for c in display):
        return f'"{display}" <{addr}>'
    return f"=?UTF-8?B?{base64.b64encode(display.encode()).decode()}?= <{addr}>"


def message(server, rng, owner, when, thread, in_list):
    lang = "en" if rng.random() > 1 / 12 or not server.langs else rng.choice(server.langs)
    sender = rng.choice(server.people)
    rcpts = [owner] + rng.sample(server.people, rng.randint(0, 3))
    subject = thread["subject"] if thread else " ".join(server.words(rng.randint(2, 8), lang)).capitalize()
    if thread:
        subject = ("Re: " if rng.random() < 0.85 else "Fwd: ") + subject
    mid = f"<{rng.getrandbits(64):016x}.{int(when)}@{sender[1].split('@')[1]}>"
    h = "Return-Path: <" + sender[1] + ">\n"
    h += f"Received: from mx{rng.randint(1, 9)}.{sender[1].split('@')[1]} by mail.example.net; {email.utils.formatdate(when)}\n"
    h += "From: " + address(*sender) + "\n"
    h += "To: " + address(*rcpts[0]) + "\n"
    if len(rcpts) > 1:
        h += "Cc: " + ", ".join(address(*r) for r in rcpts[1:]) + "\n"
    h += header("Subject", subject)
    h += f"Date: {email.utils.formatdate(when, localtime=False)}\n"
    h += f"Message-ID: {mid}\n"
    if thread:
        h += f"In-Reply-To: {thread['ids'][-1]}\n"
        h += "References: " + " ".join(thread["ids"][-5:]) + "\n"
    if in_list:
        h += f"List-Id: <{in_list}.lists.example.org>\nList-Post: <mailto:{in_list}@lists.example.org>\n"
    h += "MIME-Version: 1.0\n"
    text = server.body(lang)
    if thread and rng.random() < 0.7:
        text += "\n\n> " + "\n> ".join(server.sentence(lang) for _ in range(rng.randint(1, 4)))
    text += "\n\n-- \n" + sender[0] + "\n"

    def plain(t):
        if all(ord(c) < 128 for c in t):
            return "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n" + t + "\n"
        qp = quopri.encodestring(t.encode()).decode()
        return "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp + "\n"

    r = rng.random()
    if r < 0.70:
        out = h + plain(text)
    else:
        b = f"=_{rng.getrandbits(48):012x}"
        parts = []
        if r < 0.85:
            h += f'Content-Type: multipart/alternative; boundary="{b}"\n\n'
            html = "<html><body>" + "".join(f"<p>{p}</p>" for p in text.split("\n\n")) + "</body></html>"
            parts = [plain(text), "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
                     + base64.encodebytes(html.encode()).decode()]
        else:
            h += f'Content-Type: multipart/mixed; boundary="{b}"\n\n'
            parts = [plain(text)]
            if rng.random() < 0.5:
                notes = "\n".join(server.sentence(lang) for _ in range(rng.randint(5, 40)))
                parts.append(f'Content-Type: text/plain; charset=utf-8; name="notes-{rng.randint(1, 999)}.txt"\n'
                             f'Content-Disposition: attachment; filename="notes-{rng.randint(1, 999)}.txt"\n'
                             "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(notes.encode()).decode())
            else:
                blob = rng.randbytes(rng.randint(2000, 60000))
                parts.append(f'Content-Type: application/octet-stream; name="data-{rng.randint(1, 999)}.bin"\n'
                             f'Content-Disposition: attachment; filename="data-{rng.randint(1, 999)}.bin"\n'
                             "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(blob).decode())
        out = h + "".join(f"--{b}\n{p}\n" for p in parts) + f"--{b}--\n"
    return out.replace("\n", "\r\n").encode(), mid, subject if not thread else thread["subject"]


def write_user(args):
    """One user's mailbox tree (its own generator, seeded by the server seed and the user)."""
    out, u, messages, seed = args
    rng = random.Random(seed * 1_000_003 + u)
    server = SERVER
    name = f"user{u:05d}"
    owner = (f"User {u}", f"{name}@example.net")
    home = os.path.join(out, name, "Maildir")
    folders = ["", ".Sent", ".Archive"] + [f".Lists.{l}" for l in rng.sample(Server.LISTS, 2)]
    for f in folders:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(home, f, sub), exist_ok=True)
    uids = {f: [] for f in folders}
    threads = []
    start, span = START, SPAN
    server.rng = rng
    times = sorted(start + rng.random() * span for _ in range(messages))
    for k, when in enumerate(times):
        folder = rng.choices(folders, weights=[60, 12, 10] + [9] * (len(folders) - 3))[0]
        in_list = folder[len(".Lists."):] if folder.startswith(".Lists.") else None
        thread = rng.choice(threads) if threads and rng.random() < 0.4 else None
        data, mid, subject = message(server, rng, owner, when, thread, in_list)
        if thread:
            thread["ids"].append(mid)
        else:
            threads.append({"subject": subject, "ids": [mid]})
            if len(threads) > 50:
                threads.pop(0)
        base = f"{int(when)}.M{k}P{u}.mail"
        seen = when < start + span - 30 * 86400 or rng.random() < 0.5
        flags = "S" if seen else ""
        if seen and rng.random() < 0.2:
            flags = "RS"
        sub = "cur" if seen else "new"
        fname = base + (f":2,{flags}" if sub == "cur" else "")
        path = os.path.join(home, folder, sub, fname)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (when, when))
        uids[folder].append(base)
    for f, bases in uids.items():
        with open(os.path.join(home, f, "dovecot-uidlist"), "w") as fh:
            fh.write(f"3 V{start + u} N{len(bases) + 1} G{rng.getrandbits(128):032x}\n")
            for i, b in enumerate(bases):
                fh.write(f"{i + 1} :{b}\n")
    return messages


SERVER = None
START = 1_640_995_200  # 2022-01-01
SPAN = 3 * 365 * 86400


def main():
    global SERVER
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--messages", type=int, default=100, help="messages per user")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="processes writing users in parallel")
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpus"))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = time.time()
    vocab = vocabulary(a.corpus, rng)
    SERVER = Server(rng, vocab)
    print("vocabulary: " + ", ".join(f"{l} {len(v[0])}" for l, v in vocab.items()) + f" ({time.time() - t0:.1f} s)", file=sys.stderr)
    jobs = [(a.out, u, a.messages, a.seed) for u in range(a.users)]
    total = 0
    if a.procs > 1:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(a.procs) as pool:
            for n in pool.imap_unordered(write_user, jobs, chunksize=4):
                total += n
                if (total // a.messages) % 50 == 0:
                    print(f"{total // a.messages}/{a.users} users, {total} messages ({time.time() - t0:.0f} s)", file=sys.stderr)
    else:
        for j in jobs:
            total += write_user(j)
    print(f"{a.users} users, {total} messages ({time.time() - t0:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
