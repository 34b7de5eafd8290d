"""Benchmark: the reads people wait on, against a bare Django view, under the same gunicorn.

In one run:
  1. builds a PostgreSQL database `dispute_desk_apibench` from the demo data, and gives order DD-4002
     (a dispute with a photo, a counter-offer and its events) a thread of 20 messages, 5 with a photo;
  2. starts gunicorn with the production settings (4 workers, PostgreSQL, Redis), plus one address that
     only this bench has: the floor, a bare Django view reading one order row and returning it as JSON
     through the same middleware (bench/api/urls.py);
  3. drives each address with wrk (2 threads, 32 connections: BENCH_SECONDS each, after a warm-up) and
     prints requests a second, p50 and p99, and each one's ratio to the floor measured in the same run.

The API reads are signed in with a token, the pages with the session and CSRF cookies a browser holds
after its first visit, both as the buyer. The
per-user throttle is raised for the run (its Redis round trips still count); nothing else differs from
production.

    make bench-api                    # BENCH_SECONDS=10 by default
    BENCH_SECONDS=30 make bench-api

wrk comes from Debian's packages (`make bench-api` installs it when missing). Run it on an otherwise
idle machine; the figures go into docs/performance.md.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_API_DATABASE_URL", "postgres://root@127.0.0.1:5432/dispute_desk_apibench")
REDIS_URL = os.environ.get("BENCH_API_REDIS_URL", "redis://127.0.0.1:6379/9")
PORT = int(os.environ.get("BENCH_API_PORT", "8765"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = 4
ORDER = "DD-4002"
MESSAGES, WITH_PHOTOS = 20, 5

SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.api.settings",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SITE_URL": "https://dispute-desk.bench.invalid",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "SECURE_SSL_REDIRECT": "false",
    "THROTTLE_USER": "100000000/minute",
    "MEDIA_ROOT": str(ROOT / "var" / "bench-media"),
}


def fresh_database() -> None:
    import psycopg

    admin, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed() -> dict:
    """The demo data, a longer thread on DD-4002, and the buyer's token and session."""
    os.environ.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "MEDIA_ROOT": SERVER_ENV["MEDIA_ROOT"]})
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api.seed_settings"
    os.environ["DEMO_DATA"] = "true"  # the demo's people and stores, in this bench's own database only
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from knox.models import AuthToken

    from disputes.models import Dispute
    from messaging.models import Message
    from messaging.services import message_post
    from orders.models import Order
    from tests.messaging.images import jpeg_bytes, upload

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    order = Order.objects.select_related("buyer", "store__owner").get(number=ORDER)
    have = Message.objects.filter(thread__order=order).count()
    for n in range(have, MESSAGES):
        author = order.buyer if n % 2 else order.store.owner
        photos = [upload(jpeg_bytes(size=(1200, 900)), f"photo-{n}.jpg")] if n < WITH_PHOTOS else []
        message_post(author=author, order=order, body=f"Message {n + 1} about the cracked case.", uploads=photos)
    _, token = AuthToken.objects.create(order.buyer)
    client = Client()
    client.force_login(order.buyer)
    client.get(f"/orders/{ORDER}/")  # as a browser's first visit: it gets its CSRF cookie
    return {
        "token": token,
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "csrf": client.cookies[settings.CSRF_COOKIE_NAME].value,
        "dispute": Dispute.objects.filter(order=order).latest("pk").pk,
    }


def start_server() -> subprocess.Popen:
    env = {**os.environ, **SERVER_ENV}
    env.pop("SECRET_KEY", None)  # the bench's own (bench/api/settings.py), which the seeding signed with
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-w", str(WORKERS)]
    command += ["-b", f"127.0.0.1:{PORT}", "--log-level", "warning"]
    server = subprocess.Popen(  # noqa: S603 - our own command line
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/bench/floor/{ORDER}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer")


def check(path: str, headers: dict) -> None:
    """The read answers 200 as the buyer (not a redirect to sign in, not an error)."""
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    status = opener.open(request, timeout=30).status
    if status != 200:
        raise SystemExit(f"{path} answered {status}, not 200")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wrk(path: str, headers: dict, seconds: int) -> dict:
    args = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args.append(f"http://127.0.0.1:{PORT}{path}")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout  # noqa: S603 - our own command
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: run 'make bench-api' (it installs Debian's wrk), or apt-get install wrk.")
    fresh_database()
    seen = seed()
    api = {"Authorization": f"Token {seen['token']}", "X-Forwarded-Proto": "https"}
    page = {"Cookie": f"sessionid={seen['session']}; csrftoken={seen['csrf']}", "X-Forwarded-Proto": "https"}
    reads = [
        ("floor: one row as JSON", f"/bench/floor/{ORDER}/", api, None),
        ("GET /api/disputes/{id}/", f"/api/disputes/{seen['dispute']}/", api, 0.5),
        ("GET /api/orders/{number}/", f"/api/orders/{ORDER}/", api, 0.5),
        ("GET /api/orders/{number}/messages/", f"/api/orders/{ORDER}/messages/", api, 0.5),
        ("dispute page", f"/disputes/{seen['dispute']}/", page, 0.25),
        ("order page", f"/orders/{ORDER}/", page, 0.25),
    ]
    server = start_server()
    try:
        rows = []
        for name, path, headers, target in reads:
            check(path, headers)
            wrk(path, headers, 2)  # warm-up: workers' imports, connections, caches
            rows.append((name, target, wrk(path, headers, SECONDS)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    floor = rows[0][2]
    print(f"API and page reads, gunicorn -w {WORKERS}, wrk -t2 -c32, {SECONDS} s each, same run")
    heads = ("req/s", "p50 ms", "p99 ms", "x floor", "target", "p99/flr", "non-2xx")
    print(f"{'read':38}" + "".join(f" {head:>8}" for head in heads))
    for name, target, r in rows:
        ratio = r["rps"] / floor["rps"]
        print(
            f"{name:38} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {ratio:8.3f} "
            f"{'' if target is None else f'>={target}':>8} {r['p99'] / floor['p99']:8.2f} {r['errors']:8d}"
        )


if __name__ == "__main__":
    main()
