"""Mixed-load benchmark: 200 people on the production stack at once (`make loadtest`).

    make loadtest                                  # 120 s of steady load after everyone signed in
    LOAD_SECONDS=60 .venv/bin/python bench/load/loadtest.py

What it does, in order:
  1. (re)creates the PostgreSQL database `dispute_desk_load` (LOAD_DATABASE_URL) and empties Redis
     DB 8 (LOAD_REDIS_URL), migrates, collects static files, and seeds 200 accounts with their
     orders, threads with photos and disputes in every state (bench/load/seed.py);
  2. starts a small SMTP sink here (the production settings require an SMTP server; mail stops
     at the sink), then gunicorn with the production settings (4 sync workers, and the hooks of
     bench/load/gunicorn_conf.py, which log what each request cost inside its worker), a Celery
     worker and beat, as `make run` starts them;
  3. runs Locust headless (bench/load/locustfile.py): 200 users, all in within 20 s, 1-3 s between
     clicks; first the arrival (everyone signs in), then LOAD_SECONDS of steady load;
  4. stops everything it started and prints the figures: requests, failures, p50/p95/p99 per kind
     of request as the users saw them, the slowest kinds, sign-in apart from the steady state;
     per endpoint, the time inside a worker, its CPU, its queries and the time waiting on them
     (where the server's time goes); and the CPU used by the load generator beside the server's
     (gunicorn, Celery, PostgreSQL's backends for this database) and the whole machine's.

Settings: LOAD_SECONDS (default 120), LOAD_SIGNIN_TIMEOUT (300: the most the arrival may take),
LOAD_PORT (a free port), LOAD_DATABASE_URL, LOAD_REDIS_URL. Logs, the cast, the per-request log
(requests.log) and Locust's raw figures (report.json) go to var/loadtest/. The exit status is 1 when
any request failed (or the run did not complete).
The target (issue 16): no failures and p95 <= 300 ms in the steady phase, on a 2-core machine.
Check `uptime` first: other work on the machine shows in every figure.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
OUT = ROOT / "var" / "loadtest"
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://root@127.0.0.1:5432/dispute_desk_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/8")
LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "120"))
SIGNIN_TIMEOUT = int(os.environ.get("LOAD_SIGNIN_TIMEOUT", "300"))
USERS, SPAWN_RATE, WORKERS = 200, 10, 4
TARGET_P95_MS = 300


# --- a mail sink: the production settings want SMTP; the mail goes no further -----------------------


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP for Django's backend: it accepts every message and counts it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages = 0
        self.lock = threading.Lock()


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 load-test sink")
        in_data = False
        for raw in self.rfile:
            line = raw.rstrip(b"\r\n")
            if in_data:
                if line == b".":
                    in_data = False
                    with self.server.lock:
                        self.server.messages += 1
                    self.reply("250 queued")
                continue
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 OK")
            elif verb == b"DATA":
                in_data = True
                self.reply("354 end with .")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


# --- CPU use of the processes we started, sampled from /proc ------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> tuple[int, float] | None:
    """(process group, CPU seconds so far) of a process, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK, sum(values) / TICK


class CpuSampler(threading.Thread):
    """Every second: the CPU seconds of each process in the groups we started (gunicorn, Celery,
    Locust: each runs in a session of its own) and of PostgreSQL's backends serving our database."""

    def __init__(self, groups: dict[str, int], database: str) -> None:
        super().__init__(daemon=True)
        self.groups = groups  # name -> process group id
        self.database = database
        self.samples: list[tuple[float, dict[str, tuple[str, float]], tuple[float, float]]] = []
        self.stopping = threading.Event()

    def sample(self) -> None:
        by_group = {pgid: name for name, pgid in list(self.groups.items())}
        seen: dict[str, tuple[str, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            stat = _stat(entry.name)
            if stat is None:
                continue
            name = by_group.get(stat[0])
            if name is None:
                try:
                    cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
                except OSError:
                    continue
                if not cmdline.startswith(b"postgres: ") or f" {self.database} ".encode() not in cmdline:
                    continue
                name = "postgres"
            seen[entry.name] = (name, stat[1])
        self.samples.append((time.time(), seen, _machine()))

    def run(self) -> None:
        while not self.stopping.wait(1.0):
            self.sample()

    def usage(self, start: float, end: float) -> dict[str, float]:
        """CPU seconds each group used between two moments, and the machine's busy and total."""
        window = [s for s in self.samples if start - 1.0 <= s[0] <= end + 1.0]
        if len(window) < 2:
            return {}
        first, used, last_seen = window[0][1], {}, {}
        for _t, seen, _machine_now in window[1:]:
            last_seen.update(seen)
        for pid, (name, cpu) in last_seen.items():
            used[name] = used.get(name, 0.0) + cpu - first.get(pid, (name, 0.0))[1]
        busy = window[-1][2][0] - window[0][2][0]
        total = window[-1][2][1] - window[0][2][1]
        used["seconds"] = window[-1][0] - window[0][0]
        used["machine busy"], used["machine total"] = busy, total
        return used


# --- the steps --------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def django_env(port: int, mail_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        SITE_URL="https://disputes.load-test.invalid",
        EMAIL_URL=f"smtp://127.0.0.1:{mail_port}",
        # The client plays the TLS proxy: it says https (SECURE_PROXY_SSL_HEADER), so no redirect.
        SECURE_SSL_REDIRECT="false",
        # One proxy in front, appending the client's address, as in production behind nginx.
        TRUSTED_PROXY_COUNT="1",
        MEDIA_ROOT=str(OUT / "media"),
        LOAD_REQUEST_LOG=str(OUT / "requests.log"),
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        LOAD_PORT=str(port),
    )
    return env


def reset_stores() -> None:
    import psycopg
    import redis

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def seed(env: dict[str, str]) -> None:
    """bench/load/seed.py, its output (the audit log of every seeded action) in var/loadtest/seed.log."""
    command = [sys.executable, str(ROOT / "bench" / "load" / "seed.py"), str(OUT / "cast.json")]
    with (OUT / "seed.log").open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            log.write(line)
            if line.startswith("[seed]"):
                say("  " + line[7:].rstrip())
        if process.wait():
            raise RuntimeError(f"seeding failed; see {OUT / 'seed.log'}")


def server_commands(port: int) -> dict[str, list[str]]:
    """What `make run` starts (Procfile), with gunicorn in place of runserver, as production runs it."""
    return {
        # gunicorn_conf.py logs what each request cost inside its worker: where the server's time goes.
        "gunicorn": [
            str(BIN / "gunicorn"), "config.wsgi", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
            "--config", str(ROOT / "bench" / "load" / "gunicorn_conf.py"),
        ],
        "celery-worker": [
            str(BIN / "celery"), "-A", "config", "worker", "--loglevel=info", "--concurrency=2",
            "--without-gossip", "--without-mingle",
        ],
        "celery-beat": [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=info", f"--schedule={OUT / 'beat'}"],
    }  # fmt: skip


def start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A server process in a session of its own (so its workers can be found and stopped), its
    output in var/loadtest/<name>.log."""
    log = (OUT / f"{name}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def stop(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each process we started (gunicorn and Celery stop their own workers), then
    SIGKILL to whatever is left in its process group."""
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.time() + 30
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.time()))
    for process in processes.values():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # our own session's leftovers only
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, worker_log: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    web = False
    while time.time() < deadline:
        if not web:
            with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                web = response.status == 200
        if web and " ready." in worker_log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the server was not ready after {timeout:.0f} s (logs in {OUT})")


def run_locust(port: int, env: dict[str, str], groups: dict[str, int]) -> int:
    env = {
        **env,
        "LOAD_CAST": str(OUT / "cast.json"),
        "LOAD_REPORT": str(OUT / "report.json"),
        "LOAD_SECONDS": str(LOAD_SECONDS),
        "LOAD_SIGNIN_TIMEOUT": str(SIGNIN_TIMEOUT),
    }
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "bench" / "load" / "locustfile.py"),
        "--headless",
        "--users",
        str(USERS),
        "--spawn-rate",
        str(SPAWN_RATE),
        "--host",
        f"http://127.0.0.1:{port}",
        "--run-time",
        f"{SIGNIN_TIMEOUT + LOAD_SECONDS + 60}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    log = (OUT / "locust.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    groups["locust (load generator)"] = process.pid
    try:
        for line in process.stdout:
            log.write(line)
            if line.startswith("[load]"):
                say("  " + line[7:].rstrip())
        return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


# --- where the server's time goes: one line per request from the workers (gunicorn_conf.py) -------------


def endpoint(method: str, path: str, length: int) -> str:
    """A URL pattern: ids become {id}, order numbers and photo keys {key}; a POST carrying a photo
    (a body over 5 KB: a form without one is well under 1 KB) says so."""
    parts = [("{id}" if p.isdigit() else "{key}") if any(c.isdigit() for c in p) else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}" + (" (with photo)" if method == "POST" and length > 5_000 else "")


def server_time(start: float, end: float) -> list[dict]:
    """Per endpoint, between two moments: requests; time inside a worker (mean, p95); the worker's
    CPU; queries and the time waiting on them; the share of all the workers' CPU. The time a
    request waited for a free worker is not in these (the users' figures include it)."""
    rows: dict[str, list[tuple[float, float, int, float]]] = {}
    path = OUT / "requests.log"
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        fields = line.split()
        if len(fields) != 9 or not start <= float(fields[0]) <= end:
            continue
        name = endpoint(fields[1], fields[2], int(fields[8]) if fields[8].isdigit() else 0)
        rows.setdefault(name, []).append((float(fields[4]), float(fields[5]), int(fields[6]), float(fields[7])))
    all_cpu = sum(r[1] for values in rows.values() for r in values) or 1.0
    table = []
    for name, values in rows.items():
        walls = sorted(r[0] for r in values)
        cpu = sum(r[1] for r in values)
        table.append(
            {
                "name": name,
                "requests": len(values),
                "wall": statistics.fmean(walls),
                "p95": walls[min(len(walls) - 1, int(0.95 * len(walls)))],
                "cpu": cpu / len(values),
                "queries": statistics.fmean(r[2] for r in values),
                "db": statistics.fmean(r[3] for r in values),
                "total_cpu": cpu / 1000,
                "share": 100 * cpu / all_cpu,
            }
        )
    return sorted(table, key=lambda row: -row["total_cpu"])


def server_table(rows: list[dict], limit: int) -> None:
    width = 50
    head = f"{'count':>6} {'wall':>6} {'p95':>6} {'cpu':>6} {'sql n':>6} {'sql ms':>6} {'cpu s':>6} {'share':>6}"
    say(f"  {'endpoint (inside a worker, means; ms)':<{width}} {head}")
    for row in rows[:limit]:
        say(
            f"  {row['name'][:width]:<{width}} {row['requests']:>6} {row['wall']:>6.0f} {row['p95']:>6.0f}"
            f" {row['cpu']:>6.0f} {row['queries']:>6.1f} {row['db']:>6.1f} {row['total_cpu']:>6.1f}"
            f" {row['share']:>5.1f}%"
        )


# --- the figures ----------------------------------------------------------------------------------


def _row(entry: dict, width: int) -> str:
    return (
        f"  {entry['name'][:width]:<{width}} {entry['requests']:>7} {entry['failures']:>5} {entry['rps']:>7.2f}"
        f" {entry['p50']:>6.0f} {entry['p95']:>6.0f} {entry['p99']:>6.0f} {entry['max']:>7.0f}"
    )


def table(entries: list[dict], *, width: int = 44, header: bool = True) -> None:
    if header:
        say(
            f"  {'kind':<{width}} {'count':>7} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}  ms"
        )
    for entry in entries:
        say(_row(entry, width))


def cpu_lines(usage: dict[str, float], requests: int) -> None:
    """Each group's CPU as a share of one core, the server's CPU per request, and the machine."""
    usage = dict(usage)
    if not usage:
        say("  (no CPU samples)")
        return
    seconds = usage.pop("seconds")
    busy, total = usage.pop("machine busy"), usage.pop("machine total")
    for name in sorted(usage, key=lambda n: -usage[n]):
        say(f"  {name:<28} {100 * usage[name] / seconds:6.1f} % of one core ({usage[name]:.1f} CPU s)")
    server = sum(v for k, v in usage.items() if not k.startswith("locust"))
    per_request = f", {1000 * server / requests:.0f} ms of CPU per request" if requests else ""
    say(f"  {'server side together':<28} {100 * server / seconds:6.1f} % of one core{per_request}")
    cores = os.cpu_count() or 1
    say(f"  {'whole machine busy':<28} {100 * busy / total:6.1f} % of {cores} cores (with whatever else runs on it)")


def print_report(report: dict, sampler: CpuSampler, mail: int, log_errors: int) -> int:
    arrival, steady = report["arrival"], report["steady"]
    say("")
    say("=" * 100)
    say(
        f"ARRIVAL: {arrival['signed_in']} of {arrival['users']} signed in within {arrival['seconds']:.0f} s "
        f"(spawned at {SPAWN_RATE}/s; each browses once signed in)"
    )
    signin = [e for e in arrival["entries"] if e["name"].startswith("signin:")]
    table([*signin, {**arrival["signin"], "name": "all sign-in requests"}])
    table([{**arrival["without_signin"], "name": "all other requests (browsing meanwhile)"}], header=False)
    doors = ("POST /accounts/login/", "POST /api/auth/token/", "POST /accounts/login/code/")
    server_table([r for r in server_time(arrival["started"], arrival["ended"]) if r["name"] in doors], 3)
    say("  CPU during the arrival:")
    cpu_lines(sampler.usage(arrival["started"], arrival["ended"]), arrival["total"]["requests"])

    say("")
    say(f"STEADY STATE: {steady['seconds']:.0f} s, {steady['users']} users, 1-3 s between clicks")
    entries = [e for e in steady["entries"] if not e["name"].startswith("signin:")]
    table(entries)
    late = [e for e in steady["entries"] if e["name"].startswith("signin:")]
    if late:
        say("  sign-ins that came late (left out of the totals):")
        table(late, header=False)
    total = steady["without_signin"]
    say("")
    say(
        f"  total requests {total['requests']}, failures {total['failures']}, {total['rps']:.1f} req/s; "
        f"p50 {total['p50']:.0f} ms, p95 {total['p95']:.0f} ms, p99 {total['p99']:.0f} ms, "
        f"max {total['max']:.0f} ms"
    )
    say("")
    say("  slowest kinds as the users saw them (by p95; queueing included):")
    table(sorted(entries, key=lambda e: (-e["p95"], -e["p99"]))[:10])
    rows = server_time(steady["started"], steady["ended"])
    say("  where the workers' CPU went (by total):")
    server_table(rows, 15)
    say("  the slowest endpoints inside a worker (by mean time, 3 requests or more):")
    server_table(sorted((r for r in rows if r["requests"] >= 3), key=lambda r: -r["wall"]), 10)
    say("  CPU during the steady state:")
    cpu_lines(sampler.usage(steady["started"], steady["ended"]), steady["total"]["requests"])
    say("")
    for phase, figures in (("arrival", arrival), ("steady", steady)):
        for error in figures["errors"]:
            say(f"  FAILED ({phase}) {error['occurrences']}x {error['method']} {error['name']}: {error['error'][:200]}")
        for what, count in figures["expected"].items():
            say(f"  expected refusal ({phase}) {count}x: {what}")
    say(f"  mail delivered to the sink: {mail}; server log lines with errors: {log_errors}")
    failures = arrival["total"]["failures"] + steady["total"]["failures"]
    met = failures == 0 and total["p95"] <= TARGET_P95_MS
    say(
        f"  target (0 failures, steady p95 <= {TARGET_P95_MS} ms): {'met' if met else 'NOT met'} "
        f"(failures {failures}, p95 {total['p95']:.0f} ms)"
    )
    say("=" * 100)
    return 1 if failures else 0


def server_log_errors() -> int:
    count = 0
    for name in ("gunicorn", "celery-worker", "celery-beat"):
        path = OUT / f"{name}.log"
        if path.exists():
            text = path.read_text(errors="replace")
            count += text.count("Traceback (most recent call last)") + text.count(" ERROR ")
    return count


def load_average() -> str:
    return (
        " ".join(Path("/proc/loadavg").read_text().split()[:3]) + f" (load average, 1/5/15 min; {os.cpu_count()} cores)"
    )


def main() -> int:
    say(f"machine before: {load_average()}")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    sink = SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    port = int(os.environ.get("LOAD_PORT") or free_port())
    env = django_env(port, sink.server_address[1])

    say(f"resetting {DATABASE_URL} and {REDIS_URL}; migrating; seeding ...")
    started = time.time()
    reset_stores()
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    seed(env)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # tasks the seeding queued: its history is not the run's work
    sink.messages = 0  # the seeded history's mail (the first sweep) is not the run's
    say(f"ready to start after {time.time() - started:.0f} s")

    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in server_commands(port).items():
            processes[name] = start(name, command, env)
        wait_ready(port, OUT / "celery-worker.log")
        say(
            f"gunicorn ({WORKERS} workers), Celery worker and beat up on port {port}; "
            f"{USERS} users, spawn rate {SPAWN_RATE}/s, steady {LOAD_SECONDS} s"
        )
        groups = {
            "gunicorn (web)": processes["gunicorn"].pid,
            "celery worker": processes["celery-worker"].pid,
            "celery beat": processes["celery-beat"].pid,
        }
        sampler = CpuSampler(groups, DATABASE_URL.rsplit("/", 1)[1])
        sampler.start()
        locust_code = run_locust(port, env, groups)
        sampler.stopping.set()
    finally:
        stop(processes)
        sink.shutdown()
    report_path = OUT / "report.json"
    if not report_path.exists():
        say(f"Locust ended (status {locust_code}) without a report; see {OUT / 'locust.log'}")
        return 1
    code = print_report(json.loads(report_path.read_text()), sampler, sink.messages, server_log_errors())
    say(f"machine after: {load_average()}")
    return code


if __name__ == "__main__":
    sys.exit(main())
