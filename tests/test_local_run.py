"""`make run`'s configuration serves the pages with no PostgreSQL or Redis: SQLite and the
filesystem broker, the demo data, a real server process, a sign-in."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_local_configuration_serves_pages_without_postgres_or_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        # Its own SQLite file and media folder, so a developer's var/ is left alone.
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True,
                       timeout=300)  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(100):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = opener.open(f"{base}/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        body = f"csrfmiddlewaretoken={token}&username=alice&password=demo".encode()
        request = urllib.request.Request(f"{base}/accounts/login/", data=body, headers={"Referer": f"{base}/"})
        page = opener.open(request).read().decode()
        assert "My orders" in page and "dispute opens" in page
        assert opener.open(f"{base}/static/css/app.css").status == 200
        # The API with a token, as a client of the local server would use it (its one-query sign-in on SQLite).
        asked = urllib.request.Request(
            f"{base}/api/auth/token/", data=b'{"username": "alice", "password": "demo"}',
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        key = json.loads(urllib.request.urlopen(asked).read())["token"]
        orders = urllib.request.Request(f"{base}/api/orders/", headers={"Authorization": f"Token {key}"})
        assert json.loads(urllib.request.urlopen(orders).read())["results"]
    finally:
        server.terminate()
        server.wait(timeout=10)
