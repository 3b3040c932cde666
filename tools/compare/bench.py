#!/usr/bin/env python3
"""Index one staged Maildir with one engine, then time the query set against it.

Usage: bench.py --engine ENGINE --stage MAILDIR --work DIR --out RESULTS_DIR
                --queries QUERIES.tsv [--runs 20] [--inproc-runs 200] [--index-runs 1]
                [--mailsift-bin PATH] [--index-timeout 7200] [--no-compact]

ENGINE: mailsift | notmuch | mu | dovecot-fts-xapian | sqlite-fts5.
Writes RESULTS_DIR/ENGINE.json (always: a failure is recorded as "error", never raised):
  {"engine", "version", "index": {...}, "queries": [...], "error"?}
index: messages, wall_s, user_s, sys_s, cpu_s, msg_per_s, peak_rss_kib (GNU time -v
"Maximum resident set size" of the indexing process: the largest of the process and its
waited-for children, not a sum), index_bytes, plus engine notes. With --index-runs N the
engine indexes N times from scratch and the run with the median wall time is reported
(index_runs_wall_s and index_runs_cpu_s list them all).
queries: one row per (engine variant, query): count, median_ms, p99_ms over --runs CLI
runs (one untimed warm-up first; process start-up included), or an "error"/"unsupported".
For Mailsift also the in-process figures of --repeat-count (median and p90 only: that is
what it prints).
"""
import argparse
import csv
import json
import math
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "bench"               # the mail user for Mailsift and Dovecot
DOVECOT_SYS_USER = "mscompare"  # the system user Dovecot's mail processes run as
QUERY_TIMEOUT = 120


# ---------------------------------------------------------------- helpers

def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


def du_bytes(*paths):
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return 0
    out = subprocess.run(["du", "-sbc", *paths], check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1].split()[0])


def run(cmd, env=None, timeout=QUERY_TIMEOUT, check=True):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                       errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p


def timed(cmd, env=None, timeout=7200, cwd=None):
    """Run cmd under GNU time -v; returns (stdout, stderr-without-time-report, metrics)."""
    tfile = os.path.join(ARGS.work, "time-v.txt")
    full = ["/usr/bin/time", "-v", "-o", tfile, *cmd]
    # Dirty pages of what ran before (the previous engine's index, a freshly generated
    # mailbox) written back first, so this run's fsyncs do not wait on another's writeback.
    os.sync()
    log("timing:", shlex.join(cmd))
    p = subprocess.run(full, env=env, capture_output=True, text=True, timeout=timeout,
                       errors="replace", cwd=cwd)
    rep = open(tfile).read() if os.path.exists(tfile) else ""
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} exited {p.returncode}: "
                           f"{(p.stderr.strip() or p.stdout.strip())[-1500:]}")
    m = {}
    for line in rep.splitlines():
        k, _, v = line.strip().rpartition(": ")
        m[k] = v
    wall = m.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "0:0")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    user, sys_ = float(m.get("User time (seconds)", 0)), float(m.get("System time (seconds)", 0))
    metrics = {"wall_s": round(secs, 3), "user_s": user, "sys_s": sys_,
               "cpu_s": round(user + sys_, 3),
               "peak_rss_kib": int(m.get("Maximum resident set size (kbytes)", 0))}
    return p.stdout, p.stderr, metrics


def percentile(values, q):
    """Nearest-rank percentile (p99 of 20 runs is the slowest run)."""
    s = sorted(values)
    k = max(1, math.ceil(q / 100 * len(s)))
    return s[k - 1]


def time_cli(cmd, env=None):
    """One untimed warm-up, then ARGS.runs timed runs of cmd. Returns (median_ms, p99_ms, last)."""
    last = run(cmd, env=env, check=False)
    times = []
    for _ in range(ARGS.runs):
        t0 = time.perf_counter()
        last = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace",
                              timeout=QUERY_TIMEOUT)
        times.append(time.perf_counter() - t0)
    return (round(statistics.median(times) * 1000, 3), round(percentile(times, 99) * 1000, 3),
            last)


def warm_cache(mail):
    """Read every message once, so each engine starts with the mail in the page cache."""
    for sub in ("cur", "new"):
        d = os.path.join(mail, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as fh:
                    while fh.read(1 << 20):
                        pass


def load_queries(path):
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader((l for l in fh if not l.startswith("#")),
                                          delimiter="\t", quoting=csv.QUOTE_NONE)]
    for r in rows:
        for k in list(r):
            r[k] = (r[k] or "").strip()
    return rows


def version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout.strip() or p.stderr.strip()).splitlines()[0]
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


def dpkg_version(pkg):
    return version(["dpkg-query", "-W", "-f=${Version}", pkg])


# ---------------------------------------------------------------- engines
# Each engine: version(), index() -> dict, and variants: list of
#   (variant name, query column, page_cmd(q) -> argv, count(q) -> int, inproc(q) -> dict|None)

class Engine:
    name = ""

    def __init__(self, mail, work):
        self.mail, self.work = mail, work
        self.env = dict(os.environ)

    def cleanup(self):
        pass

    # One search variant per engine unless it overrides variants(): the kind of query text it
    # takes (queries.py) and how its page and count are taken.
    kind = ""
    method = ""

    def startup_cmd(self):
        """(argv, description) of a command that starts the tool without searching."""
        return None

    def variants(self):
        """(name, query kind, page argv for a query, count for a query, in-process timing, method)."""
        return [(self.name, self.kind, self.page_cmd, self.count, None, self.method)]


class Mailsift(Engine):
    name = "mailsift"

    def __init__(self, mail, work):
        super().__init__(mail, work)
        self.bin = os.path.abspath(ARGS.mailsift_bin)
        self.data = os.path.join(work, "data")

    def version(self):
        return version([self.bin, "--version"])

    def index(self):
        shutil.rmtree(self.data, ignore_errors=True)
        cmd = [self.bin, "index", "--data", self.data, "--user", USER, self.mail]
        if not ARGS.no_compact:
            cmd.append("--compact")
        out, err, m = timed(cmd, timeout=ARGS.index_timeout)
        mm = re.search(r"indexed (\d+) messages", out + err)
        stats = run([self.bin, "stats", "--data", self.data, "--user", USER]).stdout
        docs = re.search(r"^documents: (\d+)", stats, re.M)
        m["messages"] = int(docs.group(1)) if docs else int(mm.group(1))
        # The live index: the files of the current manifest (bytes per kind, from stats) and
        # the catalog. `du` also counts directories, the lock file and SQLite's WAL (a commit
        # removes the segment files of the generation it replaces).
        kinds = re.findall(r"^\s+(terms|docs|pos|stored|values): (\d+) bytes$", stats, re.M)
        catalog = re.search(r"catalog: (\d+) bytes", stats)
        m["disk_bytes_du"] = du_bytes(self.data)
        if kinds and catalog:
            m["index_bytes"] = sum(int(n) for _, n in kinds) + int(catalog.group(1))
            m["bytes_by_kind"] = {k: int(n) for k, n in kinds}
            m["bytes_by_kind"]["catalog"] = int(catalog.group(1))
        else:
            m["index_bytes"] = m["disk_bytes_du"]
        m["notes"] = ("--compact (merged into one segment; included in the time)"
                      if not ARGS.no_compact else "not compacted")
        m["notes"] += (f"; index = live segment files + catalog (stored text "
                       f"{m.get('bytes_by_kind', {}).get('stored', 0) / 1e6:.1f} MB of it); "
                       f"du right after indexing: {m['disk_bytes_du'] / 1e6:.1f} MB")
        m["indexer_output"] = (out + err).strip()[-600:]
        m["stats"] = stats
        return m

    def startup_cmd(self):
        return [self.bin, "--version"], "mailsift --version"

    def _base(self):
        return [self.bin, "search", "--data", self.data, "--user", USER]

    def web_cmd(self, q):
        return self._base() + ["--limit", "20", "--no-snippets", q]

    def imap_cmd(self, q):
        return self._base() + ["--imap", "--mailbox", "INBOX", q]

    def web_count(self, q):
        p = run(self.web_cmd(q))
        m = re.search(r"^# \d+ of (\d+) hits?$", p.stdout, re.M)
        if not m:
            raise RuntimeError(f"no hit count in output: {p.stdout[-300:]!r}")
        return int(m.group(1))

    def imap_count(self, q):
        p = run(self.imap_cmd(q))
        for line in p.stdout.splitlines():
            if line.startswith("* SEARCH"):
                return len(line.split()) - 2
        raise RuntimeError(f"no * SEARCH line: {p.stdout[-300:]!r} {p.stderr[-300:]!r}")

    def inproc(self, cmd):
        p = run(cmd + ["--repeat-count", str(ARGS.inproc_runs)])
        m = re.search(r"# median ([0-9.e+-]+) seconds over (\d+) runs \(p90 ([0-9.e+-]+) seconds\)",
                      p.stdout)
        if not m:
            raise RuntimeError(f"no median line: {p.stdout[-300:]!r}")
        return {"median_ms": round(float(m.group(1)) * 1000, 4),
                "p90_ms": round(float(m.group(3)) * 1000, 4), "runs": int(m.group(2))}

    def variants(self):
        return [
            ("mailsift", "mailsift", self.web_cmd, self.web_count,
             lambda q: self.inproc(self.web_cmd(q)),
             "webmail query, page of 20 by relevance + total count"),
            ("mailsift-imap", "imap", self.imap_cmd, self.imap_count,
             lambda q: self.inproc(self.imap_cmd(q)),
             "IMAP SEARCH (exact substring semantics), all UIDs"),
        ]


class Notmuch(Engine):
    name = "notmuch"
    kind = "notmuch"
    method = "notmuch search --output=messages --limit=20 (newest first); count: notmuch count"

    def __init__(self, mail, work):
        super().__init__(mail, work)
        self.db = os.path.join(work, "db")
        self.cfg = os.path.join(work, "notmuch-config")
        self.env["NOTMUCH_CONFIG"] = self.cfg

    def version(self):
        return version(["notmuch", "--version"])

    def index(self):
        shutil.rmtree(self.db, ignore_errors=True)
        os.makedirs(self.db)
        with open(self.cfg, "w") as fh:
            fh.write(f"[database]\npath={self.db}\nmail_root={self.mail}\n"
                     "[new]\ntags=\nignore=\n[maildir]\nsynchronize_flags=false\n"
                     "[user]\nname=bench\nprimary_email=bench@example.invalid\n")
        out, err, m = timed(["notmuch", "new", "--quiet"], env=self.env,
                            timeout=ARGS.index_timeout)
        m["messages"] = int(run(["notmuch", "count", "--output=messages", "*"],
                                env=self.env).stdout.strip())
        m["files"] = int(run(["notmuch", "count", "--output=files", "*"],
                             env=self.env).stdout.strip())
        m["index_bytes"] = du_bytes(self.db)
        m["notes"] = ("messages = distinct Message-IDs (notmuch merges files sharing one); "
                      "Xapian DB not compacted")
        return m

    def startup_cmd(self):
        return ["notmuch", "--version"], "notmuch --version"

    def page_cmd(self, q):
        return ["notmuch", "search", "--output=messages", "--limit=20", q]

    def count(self, q):
        return int(run(["notmuch", "count", "--output=messages", q], env=self.env).stdout.strip())



class Mu(Engine):
    name = "mu"
    kind = "mu"
    method = "mu find --maxnum=20 (by date); count: mu find without --maxnum, lines"

    def __init__(self, mail, work):
        super().__init__(mail, work)
        self.home = os.path.join(work, "muhome")

    def version(self):
        return version(["mu", "--version"])

    def index(self):
        shutil.rmtree(self.home, ignore_errors=True)
        run(["mu", "init", f"--maildir={self.mail}", f"--muhome={self.home}", "--quiet"])
        out, err, m = timed(["mu", "index", f"--muhome={self.home}", "--quiet"],
                            timeout=ARGS.index_timeout)
        info = run(["mu", "info", f"--muhome={self.home}"]).stdout
        mm = re.search(r"messages in store\s*\|\s*(\d+)", info)
        m["messages"] = int(mm.group(1)) if mm else None
        m["index_bytes"] = du_bytes(os.path.join(self.home, "xapian"))
        m["notes"] = "mu init not timed (instant); Xapian DB not compacted"
        return m

    def startup_cmd(self):
        return ["mu", "--version"], "mu --version"

    def page_cmd(self, q):
        return ["mu", "find", f"--muhome={self.home}", "--fields=l", "--maxnum=20", q]

    def count(self, q):
        p = run(["mu", "find", f"--muhome={self.home}", "--fields=l", q], check=False)
        if p.returncode != 0:
            if "no matches" in p.stderr:
                return 0
            raise RuntimeError(f"mu find exited {p.returncode}: {p.stderr.strip()[-500:]}")
        return len([l for l in p.stdout.splitlines() if l.strip()])



class Dovecot(Engine):
    name = "dovecot-fts-xapian"
    kind = "imap"
    method = "doveadm search (IMAP SEARCH keys, fts_enforced), all UIDs"

    def __init__(self, mail, work):
        super().__init__(mail, work)
        self.conf = os.path.join(work, "dovecot.conf")
        self.idx = os.path.join(work, "index")
        self.ctl = os.path.join(work, "control")
        self.home = os.path.join(work, "home")
        self.run_dir = os.path.join(work, "run")
        self.master_pid = None

    def version(self):
        return (f"dovecot {version(['dovecot', '--version'])}, "
                f"dovecot-fts-xapian {dpkg_version('dovecot-fts-xapian')}")

    def write_conf(self):
        import pwd
        pw = pwd.getpwnam(DOVECOT_SYS_USER)
        for d in (self.idx, self.ctl, self.home, self.run_dir, os.path.join(self.work, "state"),
                  os.path.join(self.work, "log")):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        for d in (self.idx, self.ctl, self.home):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        os.chmod(self.work, 0o755)
        users = os.path.join(self.work, "users")
        with open(users, "w") as fh:
            fh.write(f"{USER}:{{PLAIN}}unused:{pw.pw_uid}:{pw.pw_gid}::{self.home}::\n")
        w = self.work
        with open(self.conf, "w") as fh:
            fh.write(f"""# private Dovecot for the comparison: no listeners, only doveadm
base_dir = {self.run_dir}
state_dir = {w}/state
log_path = {w}/log/dovecot.log
protocols =
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
mail_location = maildir:{self.mail}:INDEX={self.idx}:CONTROL={self.ctl}
mail_fsync = never
mail_plugins = fts fts_xapian
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
plugin {{
  fts = xapian
  fts_xapian = partial=3 full=20 verbose=0
  fts_autoindex = no
  fts_enforced = yes
}}
""")

    def start(self):
        # The master daemonizes: its output must not be a pipe we wait on.
        errfile = os.path.join(self.work, "log", "dovecot-start.err")
        with open(errfile, "wb") as err:
            p = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=err, stderr=err, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {open(errfile).read()[-800:]}")
        pidfile = os.path.join(self.run_dir, "master.pid")
        for _ in range(100):
            if os.path.exists(pidfile) and os.path.exists(os.path.join(self.run_dir, "auth-userdb")):
                break
            time.sleep(0.1)
        self.master_pid = int(open(pidfile).read().strip())

    def cleanup(self):
        pidfile = os.path.join(self.run_dir, "master.pid")
        if not self.master_pid and os.path.exists(pidfile):
            self.master_pid = int(open(pidfile).read().strip() or 0) or None
        if self.master_pid:
            try:
                os.kill(self.master_pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(self.master_pid, 0)
                    time.sleep(0.1)
            except ProcessLookupError:
                pass
            self.master_pid = None

    def doveadm(self, *args):
        return ["doveadm", "-c", self.conf, *args]

    def index(self):
        self.write_conf()
        self.start()
        out, err, m = timed(self.doveadm("index", "-u", USER, "INBOX"),
                            timeout=ARGS.index_timeout)
        st = run(self.doveadm("mailbox", "status", "-u", USER, "messages", "INBOX")).stdout
        m["messages"] = int(re.search(r"messages=(\d+)", st).group(1))
        xap = os.path.join(self.idx, "xapian-indexes")
        m["index_bytes"] = du_bytes(xap)
        m["dovecot_own_index_bytes"] = du_bytes(self.idx, self.ctl) - m["index_bytes"]
        m["notes"] = (f"index bytes = xapian-indexes only; Dovecot's own index/cache/uidlist: "
                      f"{m['dovecot_own_index_bytes'] / 1e6:.1f} MB more")
        errs = [l for l in open(os.path.join(self.work, "log", "dovecot.log"), errors="replace")
                if "rror" in l]
        if errs:
            m["log_errors"] = errs[-5:]
        return m

    def startup_cmd(self):
        return self.doveadm("user", USER), "doveadm user bench (config + userdb lookup)"

    def page_cmd(self, q):
        return self.doveadm("search", "-u", USER, "mailbox", "INBOX", *shlex.split(q))

    def count(self, q):
        p = run(self.page_cmd(q))
        return len([l for l in p.stdout.splitlines() if l.strip()])

    def variants(self):
        if not self.master_pid:
            self.start()
        return super().variants()


class SqliteFts5(Engine):
    name = "sqlite-fts5"
    kind = "fts5"
    method = "sqlite3 CLI: MATCH ... ORDER BY rank LIMIT 20; count: count(*)"

    def __init__(self, mail, work):
        super().__init__(mail, work)
        self.db = os.path.join(work, "mail.db")

    def version(self):
        return f"sqlite3 {version(['sqlite3', '--version']).split()[0]} (FTS5, unicode61)"

    def index(self):
        out, err, m = timed(["/usr/bin/python3", os.path.join(HERE, "fts5_index.py"), self.mail,
                             self.db], timeout=ARGS.index_timeout)
        mm = re.search(r"indexed (\d+) messages \((\d+) unreadable\)", out)
        m["messages"] = int(mm.group(1))
        m["unreadable"] = int(mm.group(2))
        m["index_bytes"] = os.path.getsize(self.db)
        m["notes"] = "python email parser + FTS5 'optimize'"
        return m

    @staticmethod
    def sql_quote(q):
        return "'" + q.replace("'", "''") + "'"

    def startup_cmd(self):
        return ["sqlite3", "-readonly", self.db, "SELECT 1"], "sqlite3 DB 'SELECT 1' (opens the DB)"

    def page_cmd(self, q):
        return ["sqlite3", "-readonly", self.db,
                f"SELECT path FROM mail WHERE mail MATCH {self.sql_quote(q)} ORDER BY rank LIMIT 20"]

    def count(self, q):
        p = run(["sqlite3", "-readonly", self.db,
                 f"SELECT count(*) FROM mail WHERE mail MATCH {self.sql_quote(q)}"])
        return int(p.stdout.strip())



ENGINES = {c.name: c for c in (Mailsift, Notmuch, Mu, Dovecot, SqliteFts5)}


# ---------------------------------------------------------------- main

def bench_queries(engine, queries):
    rows = []
    variants = engine.variants()
    sc = engine.startup_cmd()
    if sc:
        # The floor under every CLI figure: the tool starting (and, where said, opening its
        # index) without searching.
        row = {"engine": engine.name, "id": "startup", "class": "start-up, no search",
               "query": sc[1]}
        try:
            med, p99, last = time_cli(sc[0], env=engine.env)
            if last.returncode != 0:
                raise RuntimeError(f"exit {last.returncode}: {last.stderr.strip()[-300:]}")
            row.update({"median_ms": med, "p99_ms": p99, "runs": ARGS.runs})
        except Exception as e:  # noqa: BLE001
            row["error"] = str(e)[-800:]
        log(f"{engine.name:20} startup median={row.get('median_ms')} ms")
        rows.append(row)
    for variant, column, page_cmd, count, inproc, how in variants:
        for q in queries:
            text = q.get(column, "")
            row = {"engine": variant, "id": q["id"], "class": q["class"], "query": text}
            if not text or text == "-":
                row["unsupported"] = True
                rows.append(row)
                continue
            try:
                row["count"] = count(text)
                med, p99, last = time_cli(page_cmd(text), env=engine.env)
                if last.returncode not in (0, 4 if engine.name == "mu" else 0):
                    raise RuntimeError(f"exit {last.returncode}: {last.stderr.strip()[-300:]}")
                row.update({"median_ms": med, "p99_ms": p99, "runs": ARGS.runs,
                            "how": how + "; CLI wall time incl. process start-up"})
            except Exception as e:  # noqa: BLE001
                row["error"] = str(e)[-800:]
            log(f"{variant:20} {q['id']:12} count={row.get('count')} "
                f"median={row.get('median_ms')} ms p99={row.get('p99_ms')} ms"
                + (f" ERROR {row['error'][:200]}" if "error" in row else ""))
            rows.append(row)
            if inproc and "error" not in row:
                r2 = {"engine": variant + " (in-process)", "id": q["id"], "class": q["class"],
                      "query": text, "count": row["count"]}
                try:
                    ip = inproc(text)
                    r2.update({"median_ms": ip["median_ms"], "p90_ms": ip["p90_ms"],
                               "runs": ip["runs"],
                               "how": f"--repeat-count {ip['runs']}: in-process, no start-up"})
                except Exception as e:  # noqa: BLE001
                    r2["error"] = str(e)[-800:]
                log(f"{r2['engine']:20} {q['id']:12} median={r2.get('median_ms')} ms "
                    f"p90={r2.get('p90_ms')} ms")
                rows.append(r2)
    return rows


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", required=True, choices=sorted(ENGINES))
    ap.add_argument("--stage", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--inproc-runs", type=int, default=200)
    ap.add_argument("--index-runs", type=int, default=1)
    ap.add_argument("--mailsift-bin", default=os.path.join(HERE, "mailsift-bin"))
    ap.add_argument("--index-timeout", type=int, default=7200)
    ap.add_argument("--no-compact", action="store_true")
    ap.add_argument("--index-only", metavar="ROUNDS_FILE",
                    help="index once, append the run to ROUNDS_FILE and stop (no queries): run.sh's "
                         "interleaved rounds")
    ap.add_argument("--prior-runs", metavar="ROUNDS_FILE",
                    help="index runs made earlier with --index-only, counted with this one's")
    ARGS = ap.parse_args()
    ARGS.stage = os.path.abspath(ARGS.stage)
    ARGS.work = os.path.abspath(ARGS.work)
    os.makedirs(ARGS.work, exist_ok=True)
    os.makedirs(ARGS.out, exist_ok=True)
    result = {"engine": ARGS.engine, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    engine = ENGINES[ARGS.engine](ARGS.stage, ARGS.work)
    out_path = os.path.join(ARGS.out, ARGS.engine + ".json")

    def save():
        with open(out_path, "w") as fh:
            json.dump(result, fh, indent=1)

    if ARGS.index_only:
        # One interleaved round: this engine's run goes beside the other engines' of the
        # same round, so a drift of the machine's speed reaches every engine alike.
        try:
            warm_cache(ARGS.stage)
            log(f"{ARGS.engine}: indexing {ARGS.stage} (a round of its own)")
            run = engine.index()
        except Exception as e:  # noqa: BLE001 - the final round records the engine's error
            log(f"{ARGS.engine}: ERROR in a round: {type(e).__name__}: {e}"[-2000:])
            return 0
        finally:
            try:
                engine.cleanup()
            except Exception as e:  # noqa: BLE001
                log(f"cleanup failed: {e}")
        prior = json.load(open(ARGS.index_only)) if os.path.exists(ARGS.index_only) else []
        with open(ARGS.index_only, "w") as fh:
            json.dump(prior + [run], fh)
        return 0

    try:
        result["version"] = engine.version()
        warm_cache(ARGS.stage)
        log(f"{ARGS.engine}: indexing {ARGS.stage}")
        # INDEX_RUNS: each run from scratch (an engine's index() wipes its own state; a
        # running daemon is stopped first); the run with the median wall time is reported.
        runs = json.load(open(ARGS.prior_runs)) if ARGS.prior_runs and os.path.exists(ARGS.prior_runs) else []
        for k in range(max(1, ARGS.index_runs)):
            if k:
                engine.cleanup()
                log(f"{ARGS.engine}: indexing again ({len(runs) + 1} of {len(runs) + ARGS.index_runs - k})")
            try:
                runs.append(engine.index())
            except subprocess.TimeoutExpired as e:
                raise RuntimeError(f"indexing timed out after {e.timeout} s")
        idx = sorted(runs, key=lambda r: r["wall_s"])[(len(runs) - 1) // 2]
        if len(runs) > 1:
            idx["index_runs_wall_s"] = [r["wall_s"] for r in runs]
            idx["index_runs_cpu_s"] = [r["cpu_s"] for r in runs]
            idx["notes"] = (f"median of {len(runs)} runs (wall "
                            + ", ".join(f"{r['wall_s']:.2f}" for r in runs) + " s); "
                            + idx.get("notes", ""))
        mail_bytes = json.load(open(os.path.join(ARGS.out, "meta.json")))["mail_bytes"]
        idx["msg_per_s"] = round(idx["messages"] / idx["wall_s"], 1) if idx["wall_s"] else None
        idx["index_pct_of_mail"] = round(100 * idx["index_bytes"] / mail_bytes, 1)
        result["index"] = idx
        log(f"{ARGS.engine}: {json.dumps({k: v for k, v in idx.items() if k != 'stats'})}")
        save()
        result["queries"] = bench_queries(engine, load_queries(ARGS.queries))
    except Exception as e:  # noqa: BLE001 - recorded, the next engine still runs
        result["error"] = f"{type(e).__name__}: {e}"[-2000:]
        log(f"{ARGS.engine}: ERROR {result['error']}")
    finally:
        try:
            engine.cleanup()
        except Exception as e:  # noqa: BLE001
            log(f"cleanup failed: {e}")
        result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        save()
    return 0


ARGS = None
if __name__ == "__main__":
    sys.exit(main())
