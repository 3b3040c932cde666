#!/usr/bin/env python3
"""Crash torture for the daemon (issue #8): `mailsift serve` under continuous adds and searches
is killed with SIGKILL at random moments and restarted; after each restart every acknowledged
message must be found exactly once (IMAP BODY of its unique token answers exactly its UID), a
message in flight at the kill at most once, and every few rounds `mailsift verify` must pass
on a cleanly stopped daemon. Prints one line per round and a summary; exits 1 on any failure.

Usage: torture.py --mailsift BIN [--seconds 300] [--rounds N] [--seed S] [--data DIR]
"""
import argparse, http.client, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(sock, method, path, body=None, headers=None, timeout=10):
    c = UnixHTTP(sock, timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def message(token, n):
    return (f"From: torture{n % 7}@example.com\r\nTo: u@example.com\r\nSubject: round message {n}\r\n"
            f"Message-ID: <{token}@torture>\r\n\r\nThe unique word is {token}; filler text {n} about btrfs and mail.\r\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailsift", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--rounds", type=int, default=0, help="stop after this many rounds (0: by --seconds)")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--data")
    ap.add_argument("--verify-every", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    base = args.data or tempfile.mkdtemp(prefix="mailsift-torture-")
    data, sock, log = base + "/data", base + "/s.sock", base + "/daemon.log"
    os.makedirs(data, exist_ok=True)
    print(f"torture: seed {args.seed}, data {base}", flush=True)

    daemon = None

    def start():
        nonlocal daemon
        daemon = subprocess.Popen([args.mailsift, "serve", "--data", data, "--socket", sock, "--log-level", "warning",
                                   "--commit-delay", "0.2"], stdout=open(log, "ab"), stderr=subprocess.STDOUT)
        for _ in range(400):
            try:
                if call(sock, "GET", "/health", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if daemon.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit(f"torture: the daemon did not start (see {log})")

    acked = {}        # token -> uid
    inflight = {}     # token -> uid, sent but not acknowledged when the daemon died
    next_uid = [1]
    lock = threading.Lock()
    failures = []
    start_time = time.time()
    rounds = 0
    searches = [0]
    start()
    while True:
        if args.rounds and rounds >= args.rounds:
            break
        if not args.rounds and time.time() - start_time > args.seconds:
            break
        rounds += 1
        stop = threading.Event()

        def adder():
            while not stop.is_set():
                with lock:
                    uid = next_uid[0]
                    next_uid[0] += 1
                token = f"tq{uid}z{rng.randrange(10**6)}"
                with lock:
                    inflight[token] = uid
                try:
                    status, _ = call(sock, "PUT", f"/v1/users/u/messages?mailbox=INBOX&uid={uid}", body=message(token, uid), timeout=5)
                except OSError:
                    return  # the daemon is gone; this one stays in flight
                with lock:
                    del inflight[token]
                    if status == 202:
                        acked[token] = uid

        def searcher():
            while not stop.is_set():
                with lock:
                    tokens = list(acked.keys())
                if not tokens:
                    time.sleep(0.01)
                    continue
                body = json.dumps({"query": rng.choice(tokens) + " OR btrfs", "limit": 10}).encode()
                try:
                    call(sock, "POST", "/v1/users/u/search", body=body, headers={"Content-Type": "application/json"}, timeout=5)
                    searches[0] += 1
                except OSError:
                    return

        threads = [threading.Thread(target=adder) for _ in range(2)] + [threading.Thread(target=searcher) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 3.0))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        stop.set()
        for t in threads:
            t.join()
        start()
        # Every acknowledged message exactly once; those in flight at most once.
        bad = 0
        with lock:
            check = list(acked.items()) + [(t, u) for t, u in inflight.items()]
            acked_tokens = set(acked)
        for token, uid in check:
            status, body = call(sock, "POST", "/v1/users/u/search", body=json.dumps({"imap": f"BODY {token}", "mailbox": "INBOX"}).encode(),
                                headers={"Content-Type": "application/json"}, timeout=30)
            uids = json.loads(body).get("uids", []) if status == 200 else None
            ok = uids == [uid] if token in acked_tokens else uids in ([], [uid])
            if not ok:
                bad += 1
                failures.append(f"round {rounds}: {token} (uid {uid}, {'acknowledged' if token in acked_tokens else 'in flight'}): {status} {uids}")
        # Messages that made it from flight into the index count as acknowledged from now on.
        with lock:
            for token, uid in list(inflight.items()):
                status, body = call(sock, "POST", "/v1/users/u/search", body=json.dumps({"imap": f"BODY {token}", "mailbox": "INBOX"}).encode(),
                                    headers={"Content-Type": "application/json"}, timeout=30)
                if status == 200 and json.loads(body).get("uids") == [uid]:
                    acked[token] = uid
            inflight.clear()
        verified = ""
        if rounds % args.verify_every == 0:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait()
            v = subprocess.run([args.mailsift, "verify", "--data", data, "--user", "u"], capture_output=True, text=True)
            verified = ", verify " + ("ok" if v.returncode == 0 else "FAILED")
            if v.returncode != 0:
                failures.append(f"round {rounds}: verify: {v.stdout[-500:]} {v.stderr[-500:]}")
            start()
        print(f"round {rounds}: {len(acked)} acknowledged, {bad} wrong{verified}", flush=True)
    daemon.send_signal(signal.SIGTERM)
    daemon.wait()
    print(f"torture: {rounds} rounds (SIGKILL each), {len(acked)} messages acknowledged and checked after every round, "
          f"{searches[0]} searches meanwhile, {len(failures)} failures", flush=True)
    for f in failures[:20]:
        print("  " + f)
    if not args.data and not failures:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
