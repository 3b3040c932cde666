#!/usr/bin/env python3
"""Crash torture for bulk reindexing (issue #7): `mailsift reindex` over a synthetic Dovecot
tree is interrupted again and again (SIGKILL at a random moment, sometimes SIGINT, as Ctrl-C)
while the tree changes between runs (messages added, deleted, moved between folders), with
random --jobs, --full and small --commit-every so that kills land inside commits, merges and
swaps. At the end the interrupted job must finish with exit 0 (a resumed job does not rescan
the users it finished, by design: mail changed since waits for the next job, run next), `mailsift verify` must pass,
and every user's index must hold exactly what a fresh single-pass reindex of the final tree
holds: the same messages (mailbox and file, none twice, none missing) and the same answers
to word, phrase and header queries. Prints one line per round and a summary; exits 1 on any
failure, keeping the work directory for a look.

With --daemon, `mailsift serve` runs on the same data directory throughout (reindex asks it
to release each user it holds) while two clients search random users' words through it: a
search may be refused as busy (429) while a reindex holds the user, never fail otherwise.

Usage: reindex-torture.py --mailsift BIN [--rounds 30] [--users 8] [--messages 300]
                          [--seed S] [--work DIR] [--daemon]
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, tempfile, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))


sys.path.insert(0, HERE)
from torture import call  # noqa: E402  (the daemon torture's HTTP over a Unix socket)


class Daemon:
    """`mailsift serve` on the data directory, with clients searching through it."""

    def __init__(self, args, data, work, users, rng):
        # At DATA/mailsift.sock, where reindex looks for a daemon to ask for its users.
        self.sock, self.log = os.path.join(data, "mailsift.sock"), os.path.join(work, "daemon.log")
        self.proc = subprocess.Popen([args.mailsift, "serve", "--data", data, "--socket", self.sock,
                                      "--log-level", "warning"],
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        for _ in range(400):
            try:
                if call(self.sock, "GET", "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon did not start (see {self.log})")
            time.sleep(0.05)
        self.statuses, self.errors = {}, []
        self.stop = threading.Event()
        words = ["mail", "list", "linux", "the", "people", "spam", "from:example", '"of the"']
        seeds = [rng.randrange(1 << 30) for _ in range(2)]

        def client(seed):
            r = random.Random(seed)
            while not self.stop.is_set():
                user = r.choice(users)
                body = json.dumps({"query": r.choice(words), "limit": 10}).encode()
                try:
                    status, answer = call(self.sock, "POST", f"/v1/users/{user}/search", body=body,
                                          headers={"Content-Type": "application/json"}, timeout=30)
                except OSError as e:
                    self.errors.append(f"search for {user}: {e}")
                    return
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status not in (200, 404, 429):
                    self.errors.append(f"search for {user}: HTTP {status}: {answer[:300]!r}")
        self.threads = [threading.Thread(target=client, args=(s,)) for s in seeds]
        for t in self.threads:
            t.start()

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.errors.append("the daemon did not stop within 60 s of SIGTERM")
        if self.proc.returncode not in (0, -signal.SIGTERM):
            self.errors.append(f"the daemon exited {self.proc.returncode} (see {self.log})")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", **kw)


def mail_files(root, only=None):
    """{user: [paths of message files]} under a Dovecot tree (cur/ and new/ of every folder)."""
    out = {}
    for user in [only] if only else sorted(os.listdir(root)):
        files = []
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, user)):
            if os.path.basename(dirpath) in ("cur", "new"):
                files += [os.path.join(dirpath, f) for f in filenames]
        out[user] = sorted(files)
    return out


def folders(root, user):
    """The maildir folders (directories holding cur/) of a user."""
    base = os.path.join(root, user, "Maildir")
    out = [base] if os.path.isdir(os.path.join(base, "cur")) else []
    out += [os.path.join(base, d) for d in sorted(os.listdir(base))
            if d.startswith(".") and os.path.isdir(os.path.join(base, d, "cur"))]
    return out


def mutate(root, rng, counter):
    """Adds, deletes and moves messages of a third of the users (1 to 30 changes each);
    returns a short description."""
    did = []
    users = sorted(os.listdir(root))
    for user in rng.sample(users, k=max(1, len(users) // 3)):
        for _ in range(rng.choice([1, 3, 10, 30])):
            fs = mail_files(root, only=user)[user]
            action = rng.choice(["add", "delete", "move", "add"])
            if action == "add" or not fs:
                # A copy of an existing message with a new unique word and Message-ID, in new/.
                src = rng.choice(fs) if fs else None
                body = open(src, "rb").read() if src else b"Subject: hello\r\n\r\nbody\r\n"
                counter[0] += 1
                token = f"tortureword{counter[0]:06d}"
                head = f"Message-ID: <{token}@torture.invalid>\r\nX-Torture: {token}\r\n".encode()
                body = head + b"\r\n".join(l for l in body.split(b"\r\n")
                                            if not l.lower().startswith(b"message-id:"))
                body += f"\r\n{token}\r\n".encode()
                folder = rng.choice(folders(root, user))
                name = f"{int(time.time())}.T{counter[0]}P{os.getpid()}.torture"
                tmp = os.path.join(folder, "tmp", name)
                os.makedirs(os.path.dirname(tmp), exist_ok=True)
                with open(tmp, "wb") as f:
                    f.write(body)
                os.rename(tmp, os.path.join(folder, "new", name))
                did.append(f"{user}+")
            elif action == "delete":
                os.remove(rng.choice(fs))
                did.append(f"{user}-")
            else:
                src = rng.choice(fs)
                dest = rng.choice(folders(root, user))
                os.rename(src, os.path.join(dest, "cur", os.path.basename(src)))
                did.append(f"{user}~")
    return " ".join(f"{d}{did.count(d)}" for d in sorted(set(did)))


def reindex_cmd(args, data, root, jobs, full, commit_every):
    cmd = [args.mailsift, "reindex", "--data", data, "--users-root", root, "--jobs", str(jobs),
           "--commit-every", str(commit_every), "--memory", "256", "--progress-interval", "3600"]
    if full:
        cmd.append("--full")
    return cmd


def index_content(args, data, user):
    """What a user's index holds: {(mailbox, file name): count} of all documents, and the
    answer sets of a few queries."""
    p = run([args.mailsift, "search", "--data", data, "--user", user, "", "--json",
             "--limit", "1000000", "--no-snippets"])
    if p.returncode != 0:
        raise RuntimeError(f"search for {user} exited {p.returncode}: {p.stderr.strip()[-300:]}")
    docs = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            key = (r["mailbox"], os.path.basename(r.get("path", "(no path)")).split(":2,")[0])
            docs[key] = docs.get(key, 0) + 1
    return docs


def answers(args, data, user, queries, imap=False):
    out = []
    for q in queries:
        cmd = [args.mailsift, "search", "--data", data, "--user", user, q, "--json",
               "--limit", "1000000", "--no-snippets"] + (["--imap"] if imap else [])
        p = run(cmd)
        if p.returncode != 0:
            out.append(("error", p.returncode))
            continue
        keys = sorted((r["mailbox"], os.path.basename(r.get("path", "(no path)")).split(":2,")[0])
                      for r in (json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")))
        out.append(keys)
    return out


def pick_queries(root, user, rng):
    """Words and a phrase from the user's own mail, a header query and an IMAP one."""
    files = mail_files(root)[user]
    words = []
    for path in rng.sample(files, k=min(4, len(files))):
        text = open(path, "rb").read().decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n", 1)[-1]
        ws = [w for w in text.split() if w.isalpha() and 3 <= len(w) <= 12]
        if len(ws) >= 2:
            i = rng.randrange(len(ws) - 1)
            words += [ws[i], f'"{ws[i]} {ws[i + 1]}"']
    web = words + ["from:example", "tortureword"]
    imap = [f'BODY "{w.strip(chr(34))}"' for w in words[:2]] + ['HEADER X-Torture ""']
    return web, imap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailsift", required=True)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--work")
    ap.add_argument("--daemon", action="store_true", help="run `mailsift serve` on the data throughout")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = args.work or tempfile.mkdtemp(prefix="mailsift-reindex-torture-")
    root, data, fresh = work + "/mail", work + "/data", work + "/fresh"
    print(f"reindex-torture: seed {args.seed}, work {work}", flush=True)
    if not os.path.isdir(root):
        p = run([sys.executable, os.path.join(HERE, "gen-mail.py"), root, "--users", str(args.users),
                 "--messages", str(args.messages), "--seed", str(args.seed % 1000 + 1)])
        if p.returncode != 0:
            print(p.stderr[-2000:], file=sys.stderr)
            return 1

    # How long an uninterrupted full run takes: kills are spread over that span.
    t0 = time.monotonic()
    p = run(reindex_cmd(args, fresh, root, 2, False, 5000))
    span = time.monotonic() - t0
    if p.returncode != 0:
        print(f"FAIL: the first full run exited {p.returncode}: {p.stderr[-800:]}")
        return 1
    t0 = time.monotonic()
    run(reindex_cmd(args, fresh, root, 2, False, 5000))
    rescan = max(0.1, time.monotonic() - t0)
    shutil.rmtree(fresh, ignore_errors=True)
    print(f"an uninterrupted run takes {span:.2f} s, a rescan of nothing new {rescan:.2f} s", flush=True)

    counter = [0]
    os.makedirs(data, exist_ok=True)
    daemon = Daemon(args, data, work, sorted(os.listdir(root)), rng) if args.daemon else None
    failures = []
    killed = 0
    for r in range(1, args.rounds + 1):
        change = mutate(root, rng, counter) if rng.random() < 0.5 else ""
        jobs = rng.choice([1, 2])
        full = rng.random() < 0.25
        commit_every = rng.choice([20, 50, 200, 5000])
        sig = signal.SIGINT if rng.random() < 0.2 else signal.SIGKILL
        # A job already under way (or not) decides how much work there is left to cut.
        delay = rng.uniform(0.02, (span if full or rng.random() < 0.3 else 3 * rescan) * 1.1)
        errlog = open(os.path.join(work, "reindex.err"), "w+b")  # a file: a pipe could fill and block it
        proc = subprocess.Popen(reindex_cmd(args, data, root, jobs, full, commit_every),
                                stdout=subprocess.DEVNULL, stderr=errlog)
        try:
            proc.wait(timeout=delay)
            outcome = f"finished first, exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                failures.append(f"round {r}: no exit within 60 s of {sig.name}")
            killed += 1
            outcome = f"{sig.name} after {delay:.2f} s, exit {proc.returncode}"
        errlog.seek(0)
        err = errlog.read().decode(errors="replace")
        errlog.close()
        if proc.returncode not in (0, -signal.SIGKILL, -signal.SIGINT, 130, 3) or "Fatal error" in err:
            failures.append(f"round {r}: exit {proc.returncode}: {err.strip()[-400:]}")
        print(f"round {r:3}: jobs {jobs}{' full' if full else ''} commit-every {commit_every}: "
              f"{outcome}{'; changed ' + change if change else ''}", flush=True)

    # One run to the end (it resumes the interrupted job: users that job finished are not
    # rescanned, even if their mail changed since), then a new job, which catches those
    # changes; then the checks.
    for what in ("resumed", "next"):
        p = run(reindex_cmd(args, data, root, 2, False, 5000))
        if p.returncode != 0:
            failures.append(f"the {what} run exited {p.returncode}: {(p.stdout + p.stderr).strip()[-800:]}")
    if daemon:
        daemon.close()
        failures += daemon.errors
        print(f"daemon: searches answered {dict(sorted(daemon.statuses.items()))}", flush=True)
    v = run([args.mailsift, "verify", "--data", data])
    if v.returncode != 0:
        failures.append(f"verify exited {v.returncode}: {(v.stdout + v.stderr).strip()[-800:]}")
    p = run(reindex_cmd(args, fresh, root, 2, False, 5000))
    if p.returncode != 0:
        failures.append(f"fresh run exited {p.returncode}: {p.stderr.strip()[-600:]}")

    files = mail_files(root)
    checked = 0
    for user in sorted(files):
        # The tree's files by name (the mailbox names are the fresh index's to compare).
        want = {os.path.basename(f).split(":2,")[0] for f in files[user]}
        try:
            got, ref = index_content(args, data, user), index_content(args, fresh, user)
        except RuntimeError as e:
            failures.append(str(e))
            continue
        twice = [k for k, n in got.items() if n > 1]
        if twice:
            failures.append(f"{user}: {len(twice)} messages indexed twice, e.g. {twice[:3]}")
        names = {name for _, name in got}
        missing = sorted(want - names)
        extra = sorted(names - want)
        if missing or extra:
            failures.append(f"{user}: {len(missing)} messages missing (e.g. {missing[:3]}), "
                            f"{len(extra)} not in the tree (e.g. {extra[:3]})")
        if set(got) != set(ref):
            failures.append(f"{user}: the tortured index and the fresh one hold different messages")
        web, imap = pick_queries(root, user, rng)
        a, b = answers(args, data, user, web), answers(args, fresh, user, web)
        for q, x, y in zip(web, a, b):
            if x != y:
                failures.append(f"{user}: query {q!r}: {len(x)} results against {len(y)} fresh")
        a, b = answers(args, data, user, imap, imap=True), answers(args, fresh, user, imap, imap=True)
        for q, x, y in zip(imap, a, b):
            if x != y:
                failures.append(f"{user}: IMAP {q!r}: {len(x)} results against {len(y)} fresh")
        checked += len(web) + len(imap)
    total = sum(len(v) for v in files.values())
    print(f"reindex-torture: {args.rounds} rounds, {killed} interrupted, {counter[0]} messages added; "
          f"{len(files)} users, {total} messages, {checked} queries compared with a fresh index; "
          f"{len(failures)} failures", flush=True)
    for f in failures:
        print("FAIL:", f)
    if failures:
        print(f"work directory kept: {work}")
        return 1
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
