"""Locust users for the mixed-load benchmark: 200 people working the dispute desk at once.

Started by `bench/load/loadtest.py` (`make loadtest`), which seeds the database, starts the server
and passes the cast through the environment (LOAD_CAST, LOAD_REPORT, LOAD_SECONDS,
LOAD_SIGNIN_TIMEOUT). To run it by hand against a server seeded by `bench/load/seed.py`:

    LOAD_CAST=var/loadtest/cast.json .venv/bin/locust -f bench/load/locustfile.py --headless \
        -u 200 -r 10 --host http://127.0.0.1:8001

Who (fixed counts, 200 in all; 1-3 s between clicks):
  - 118 buyers on the pages: their orders, threads with photos (reading and posting), disputes
    (answering the seller's offer, modifying, escalating, shipping a return), opening disputes;
  - 30 buyers in an app on the API (token sign-in): the same work over /api/;
  - 32 sellers on the pages: store orders, the inbox, replies, answering disputes (counter-offer,
    reject, accept, confirm a returned item); 8 sellers on the API;
  - 10 dispute-team members in admin, signed in with password and TOTP code: the review queue, the
    review screen, rulings, messages to both parties, the dashboard;
  - 2 platform accounts creating orders and recording shipments and deliveries over the API.

Like a browser, each user fetches the page's stylesheets and scripts and each photo thumbnail once
(they are cacheable) and then keeps them.

Every action is one the page (or the API's state) offers at that moment, so under correct
behaviour every request succeeds: a POST must redirect (pages) or answer 200/201 (API); anything
else is a failure. Per-user write limits (THROTTLE_MESSAGES, THROTTLE_DISPUTE_OPEN) are respected by
choosing something else once a user is near them.

Production settings mark cookies Secure and the server sits behind a TLS proxy: each request says
`X-Forwarded-Proto: https` (and an `X-Forwarded-For` address of its own, TRUSTED_PROXY_COUNT=1), and
the session and CSRF cookies are kept here and sent in a Cookie header (a client's cookie jar would
not send a Secure cookie over plain http).

Phases: every user signs in once on start (the "arrival"); once all 200 are in (or
LOAD_SIGNIN_TIMEOUT passes), the statistics are saved and reset, and the steady phase runs for
LOAD_SECONDS. Both phases go to the LOAD_REPORT JSON file, which loadtest.py prints.
"""

import hashlib
import hmac
import io
import json
import os
import random
import re
import struct
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.stats import StatsEntry
from PIL import Image, ImageDraw

if not os.environ.get("LOAD_CAST"):
    raise SystemExit("LOAD_CAST must name the cast file written by bench/load/seed.py (make loadtest does this).")
CAST = json.loads(Path(os.environ["LOAD_CAST"]).read_text())
LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "120"))
SIGNIN_TIMEOUT = int(os.environ.get("LOAD_SIGNIN_TIMEOUT", "300"))
REPORT = os.environ.get("LOAD_REPORT", "")
PASSWORD = CAST["password"]
# Per user and hour, as the settings' defaults allow (30 messages, 10 disputes opened): stay below.
WRITE_CAPS = {"messages": 25, "dispute_open": 8}
# Thumbnails a page view loads (those in view; the page marks them loading="lazy"). Photos are
# served "private, max-age=3600" and static files for a year: like a browser, each user fetches a
# given photo or static file once and then keeps it.
MAX_THUMBNAILS = 4


# --- photos, made once --------------------------------------------------------------------------


def _photo(n: int) -> bytes:
    """A small JPEG (640x480, about 15 KB): a parcel with a crack across it."""
    colours = ["#7aa7d9", "#d9a27a", "#9ad97a", "#d97ac4", "#d9d37a", "#7ad9cf"]
    image = Image.new("RGB", (640, 480), "#f2f2f2")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((110, 90, 530, 390), radius=30, fill=colours[n % len(colours)], outline="#333", width=5)
    draw.line((170, 130, 460, 350), fill="#111", width=7)
    draw.text((20, 20), f"load test photo {n}", fill="#111")
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=80)
    return buf.getvalue()


PHOTOS = [_photo(n) for n in range(6)]


def photo_files(count: int = 1, field: str = "images") -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(field, (f"photo-{uuid.uuid4().hex[:8]}.jpg", random.choice(PHOTOS), "image/jpeg")) for _ in range(count)]


# --- what each request is, for the statistics -----------------------------------------------------

KINDS = [
    (r"/", "page: home (redirect)"),
    (r"/orders/", "page: my orders"),
    (r"/orders/[\w-]+/", "page: order"),
    (r"/orders/[\w-]+/dispute/new/", "page: open dispute form"),
    (r"/disputes/", "page: disputes list"),
    (r"/disputes/\d+/", "page: dispute"),
    (r"/disputes/\d+/\w+/confirm/", "page: confirm action"),
    (r"/seller/orders/", "page: store orders"),
    (r"/seller/inbox/", "page: seller inbox"),
    (r"/messages/unread/", "page: unread messages"),
    (r"/notifications/", "page: notifications"),
    (r"/photos/[\w-]+/thumbnail/", "photo: thumbnail"),
    (r"/photos/[\w-]+/", "photo: full size"),
    (r"/accounts/login/", "signin: sign-in page"),
    (r"/accounts/login/code/", "signin: two-step code page"),
    (r"/admin/", "admin: index"),
    (r"/admin/disputes/reviewqueueitem/", "admin: review queue"),
    (r"/admin/disputes/reviewqueueitem/\d+/review/", "admin: review screen"),
    (r"/admin/disputes/reviewqueueitem/next/", "admin: next dispute (redirect)"),
    (r"/admin/disputes/reviewqueueitem/dashboard/", "admin: dashboard"),
    (r"/api/orders/", "api: orders"),
    (r"/api/orders/[\w-]+/", "api: order detail"),
    (r"/api/orders/[\w-]+/messages/", "api: thread"),
    (r"/api/disputes/", "api: disputes"),
    (r"/api/disputes/\d+/", "api: dispute detail"),
    (r"/api/notifications/", "api: notifications"),
    (r"/api/messages/unread/", "api: unread counts"),
]
KIND_PATTERNS = [(re.compile(pattern + "$"), name) for pattern, name in KINDS]


def kind_of(path: str) -> str:
    bare = urlsplit(path).path
    return next((name for pattern, name in KIND_PATTERNS if pattern.match(bare)), f"other: {bare}")


ORDER_LINK = re.compile(r'href="/orders/([A-Za-z0-9][\w-]*)/"')
DISPUTE_LINK = re.compile(r'href="/disputes/(\d+)/"')
REVIEW_LINK = re.compile(r'href="/admin/disputes/reviewqueueitem/(\d+)/review/"')
THUMBNAIL = re.compile(r'src="(/photos/[\w-]+/thumbnail/)"')
STATIC = re.compile(r'(?:href|src)="(/static/[^"?#]+)"')
ACTION = re.compile(r'data-action="(\w+)"')
# Where a signed-in person is never sent under correct behaviour: sign-in, admin's door, two-step setup.
SIGNED_OUT = ("/accounts/login/", "/admin/login/", "/accounts/two-step/")


# --- the two phases ---------------------------------------------------------------------------------


class Run:
    """Who has signed in, what the business rules refused as expected, and the phases' figures."""

    signed_in: set[str] = set()
    expected = Counter()
    expected_users = 0
    report: dict = {}


def totp(key_hex: str, at: float | None = None) -> str:
    """The current code of a django-otp TOTP device (RFC 6238: SHA-1, 30 s steps, 6 digits)."""
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _entry(entry: StatsEntry, seconds: float) -> dict:
    return {
        "name": entry.name,
        "method": entry.method,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.5) if entry.num_requests else 0,
        "p95": entry.get_response_time_percentile(0.95) if entry.num_requests else 0,
        "p99": entry.get_response_time_percentile(0.99) if entry.num_requests else 0,
        "avg": round(entry.avg_response_time, 1),
        "max": round(entry.max_response_time or 0, 1),
        "rps": round(entry.num_requests / seconds, 2) if seconds else 0,
    }


def snapshot(stats, started: float, ended: float) -> dict:
    """Every kind of request in one phase, plus totals with and without the sign-in requests."""
    seconds = ended - started
    entries = [e for e in stats.entries.values() if e.num_requests or e.num_failures]
    steady = StatsEntry(stats, "all but sign-in", "", use_response_times_cache=False)
    signin = StatsEntry(stats, "sign-in only", "", use_response_times_cache=False)
    for entry in entries:
        (signin if entry.name.startswith("signin:") else steady).extend(entry)
    return {
        "started": started,
        "ended": ended,
        "seconds": round(seconds, 1),
        "signed_in": len(Run.signed_in),
        "users": Run.expected_users,
        "entries": sorted((_entry(e, seconds) for e in entries), key=lambda row: row["name"]),
        "total": _entry(stats.total, seconds),
        "without_signin": _entry(steady, seconds),
        "signin": _entry(signin, seconds),
        "errors": [
            {"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
        "expected": dict(Run.expected),
    }


def _progress(environment, phase: str, started: float) -> None:
    total = environment.runner.stats.total
    print(
        f"[load] {phase} {time.time() - started:5.0f} s: {len(Run.signed_in)} signed in, {total.num_requests} "
        f"requests, {total.num_failures} failures, p95 so far {total.get_response_time_percentile(0.95) or 0} ms",
        flush=True,
    )


def phases(environment) -> None:
    """Arrival until everyone has signed in, then a steady phase of LOAD_SECONDS; then stop."""
    runner = environment.runner
    started = time.time()
    deadline = started + SIGNIN_TIMEOUT
    last = started
    while len(Run.signed_in) < Run.expected_users and time.time() < deadline:
        gevent.sleep(0.5)
        if time.time() - last >= 15:
            _progress(environment, "arrival", started)
            last = time.time()
    arrived = time.time()
    Run.report["arrival"] = snapshot(runner.stats, started, arrived)
    print(f"[load] arrival done: {len(Run.signed_in)}/{Run.expected_users} signed in after {arrived - started:.0f} s")
    runner.stats.reset_all()
    Run.expected.clear()
    steady_start = time.time()
    while time.time() < steady_start + LOAD_SECONDS:
        gevent.sleep(min(15, steady_start + LOAD_SECONDS - time.time()))
        _progress(environment, "steady", steady_start)
    Run.report["steady"] = snapshot(runner.stats, steady_start, time.time())
    if REPORT:
        Path(REPORT).write_text(json.dumps(Run.report, indent=1))
    runner.quit()


@events.test_start.add_listener
def _start(environment, **_kwargs) -> None:
    Run.expected_users = sum(cls.fixed_count for cls in environment.user_classes)
    gevent.spawn(phases, environment)


# --- a person with a browser (or an app) ------------------------------------------------------------

_addresses = iter(range(1, 10_000))


class Person(FastHttpUser):
    """One account. Cookies are kept here (see the module's docstring); no redirect is followed
    by the client, so each hop is counted under its own kind and its cookies are seen."""

    abstract = True
    wait_time = between(1, 3)
    # A sign-in storm queues behind password hashing: wait for the answer rather than give up.
    network_timeout = 120.0
    connection_timeout = 30.0
    accounts: list = []
    taken = 0

    def __init__(self, environment) -> None:
        super().__init__(environment)
        self.client.cookiejar.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # the jar keeps nothing
        self.cookies: dict[str, str] = {}
        self.token = ""
        self.signed_in = False
        self.cached: set[str] = set()  # photos and static files this browser already holds
        n = next(_addresses)
        # Documentation addresses (RFC 5737): a header value only, never a destination.
        self.address = f"198.51.100.{n}" if n < 255 else f"203.0.113.{n - 254}"
        cls = type(self)
        self.account = cls.accounts[cls.taken % len(cls.accounts)]  # each instance takes the next account
        cls.taken += 1
        self.writes: dict[str, deque] = {scope: deque() for scope in WRITE_CAPS}
        self.origin = "https://" + urlsplit(self.host).netloc

    # --- HTTP ---

    def call(
        self,
        method: str,
        path: str,
        name: str | None = None,
        *,
        expect=(200,),
        data=None,
        files=None,
        json_body=None,
        headers: dict | None = None,
    ):
        """One request; it fails unless its status is one of `expect`."""
        sent = {"X-Forwarded-Proto": "https", "X-Forwarded-For": self.address}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{key}={value}" for key, value in self.cookies.items())
        if self.token:
            sent["Authorization"] = f"Token {self.token}"
        if method == "POST":
            sent["Origin"] = self.origin
            sent["Referer"] = self.origin + path
        if isinstance(data, list | dict) and not files:
            data = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        with self.client.request(
            method,
            path,
            name=name or kind_of(path),
            data=data,
            files=files,
            json=json_body,
            headers=sent,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            self._keep_cookies(response)
            location = urlsplit(response.headers.get("location", "") if response.headers else "").path
            if self.signed_in and location.startswith(SIGNED_OUT):
                response.failure(f"sent to {location}: the session was lost")
            elif response.status_code in expect:
                response.success()
            else:
                why = self._why(response)
                response.failure(f"status {response.status_code}, expected {'/'.join(map(str, expect))}: {why}")
        return response

    def _why(self, response) -> str:
        text = response.text or ""
        if text.startswith("{"):
            try:
                body = json.loads(text)
                return f"{body.get('code', '')} {body.get('detail', '')}"[:160]
            except ValueError:
                pass
        errors = re.findall(r'class="(?:error|error-summary-detail|errornote)"[^>]*>(.*?)</(?:p|li)>', text, re.S)
        return re.sub(r"<[^>]+>|\s+", " ", " ".join(errors)).strip()[:160]

    def _keep_cookies(self, response) -> None:
        headers = response.headers
        if not headers:
            return
        for raw in headers.getlist("set-cookie") if hasattr(headers, "getlist") else []:
            cookie = SimpleCookie()
            try:
                cookie.load(raw)
            except CookieError:
                continue
            for key, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def get(self, path: str, name: str | None = None):
        """A page view: the page, then (for a redirect) where it leads, and the page's stylesheets,
        scripts and icon the first time they are seen."""
        response = self.follow(self.call("GET", path, name, expect=(200, 302)))
        for asset in STATIC.findall(response.text or "") if response.status_code == 200 else []:
            if asset not in self.cached:
                self.cached.add(asset)
                self.call("GET", asset, "static: stylesheet, script or icon")
        return response

    def follow(self, response, hops: int = 3):
        while response.status_code in (301, 302, 303) and hops:
            location = urlsplit(response.headers.get("location", ""))
            target = location.path + (f"?{location.query}" if location.query else "")
            response = self.call("GET", target, expect=(200, 302))
            hops -= 1
        return response

    def post_form(self, path: str, name: str, fields: list | dict, *, files=None):
        """A form post: the page answers with a redirect when it acted; anything else is a refusal."""
        fields = list(fields.items()) if isinstance(fields, dict) else list(fields)
        fields.append(("csrfmiddlewaretoken", self.cookies.get("csrftoken", "")))
        return self.call("POST", path, name, expect=(302,), data=fields, files=files)

    def thumbnails(self, html: str) -> None:
        for src in THUMBNAIL.findall(html)[:MAX_THUMBNAILS]:
            if src not in self.cached:
                self.cached.add(src)
                self.call("GET", src)

    def may_write(self, scope: str) -> bool:
        recent, now = self.writes[scope], time.time()
        while recent and recent[0] < now - 3600:
            recent.popleft()
        return len(recent) < WRITE_CAPS[scope]

    def wrote(self, scope: str) -> None:
        self.writes[scope].append(time.time())

    # --- signing in ---

    def on_start(self) -> None:
        for _attempt in range(5):
            if self.sign_in():
                self.signed_in = True
                Run.signed_in.add(self.account["username"])
                return
            self.wait()
        raise RuntimeError(f"{self.account['username']} could not sign in")

    def sign_in(self) -> bool:
        """The sign-in page: the password, then where the site sends this person."""
        self.get("/accounts/login/")
        fields = {"username": self.account["username"], "password": PASSWORD, "next": ""}
        response = self.post_form("/accounts/login/", "signin: password", fields)
        if response.status_code != 302:
            return False
        self.follow(response)
        return "sessionid" in self.cookies

    def api_sign_in(self) -> bool:
        body = {"username": self.account["username"], "password": PASSWORD}
        response = self.call("POST", "/api/auth/token/", "signin: api token", json_body=body)
        if response.status_code != 200:
            return False
        self.token = response.json()["token"]
        return True

    def api(
        self,
        method: str,
        path: str,
        name: str | None = None,
        *,
        expect=(200,),
        body=None,
        files=None,
        data=None,
        headers=None,
    ):
        response = self.call(method, path, name, expect=expect, json_body=body, files=files, data=data, headers=headers)
        return response.json() if response.status_code in expect and response.text else {}


# --- buyers --------------------------------------------------------------------------------------------


class BuyerOnPages(Person):
    fixed_count = len(CAST["buyers_pages"])
    accounts = list(CAST["buyers_pages"])

    def on_start(self) -> None:
        super().on_start()
        self.orders = list(self.account["orders"])
        self.free = list(self.account["free"])
        self.disputes: list[str] = []

    @task(5)
    def my_orders(self) -> None:
        show = random.choice(["", "", "?show=waiting", "?show=disputes"])
        response = self.get(f"/orders/{show}")
        found = ORDER_LINK.findall(response.text or "")
        self.orders = list(dict.fromkeys(found + self.orders))[:50] or self.orders

    @task(6)
    def read_order(self) -> None:
        response = self.get(f"/orders/{random.choice(self.orders)}/")
        self.thumbnails(response.text or "")

    @task(2)
    def post_message(self) -> None:
        if not self.may_write("messages"):
            return self.read_order()
        number = random.choice(self.orders)
        self.get(f"/orders/{number}/")
        self.wait()
        with_photo = random.random() < 0.7
        response = self.post_form(
            f"/orders/{number}/messages/",
            "post: message with photo" if with_photo else "post: message",
            {"body": "Here is how it looks today; what do you suggest?"},
            files=photo_files(1) if with_photo else None,
        )
        self.wrote("messages")
        self.follow(response)
        return None

    @task(5)
    def work_a_dispute(self) -> None:
        """The disputes list, one dispute, and the move its page offers, when it is the buyer's."""
        response = self.get(random.choice(["/disputes/", "/disputes/?show=waiting"]))
        self.disputes = DISPUTE_LINK.findall(response.text or "") or self.disputes
        if not self.disputes:
            return
        pk = random.choice(self.disputes)
        page = self.get(f"/disputes/{pk}/")
        html = page.text or ""
        self.thumbnails(html)
        actions = set(ACTION.findall(html))
        if random.random() < 0.5:
            return  # read only
        if "propose" in actions:  # waiting for the buyer: take the offer, ask for something else, or escalate
            offer = f"/disputes/{pk}/accept/confirm/" in html
            choice = random.random()
            if offer and choice < 0.5:
                self.confirmed(pk, "accept", "post: dispute accept offer")
            elif choice < 0.8:
                self.wait()
                fields = {"propose-refund_amount": "2.00", "propose-note": "Half of what I asked would be fair."}
                self.follow(self.post_form(f"/disputes/{pk}/propose/", "post: dispute modify request", fields))
            else:
                self.confirmed(pk, "escalate", "post: dispute escalate")
        elif "return_shipment" in actions:
            self.wait()
            fields = {"return_shipment-carrier": "dhl", "return_shipment-tracking_number": f"RT{uuid.uuid4().hex[:10]}"}
            self.follow(self.post_form(f"/disputes/{pk}/return_shipment/", "post: return shipment", fields))

    def confirmed(self, pk: str, action: str, name: str) -> None:
        """An irreversible move: its confirmation screen, then the confirmed post."""
        self.wait()
        self.get(f"/disputes/{pk}/{action}/confirm/")
        self.wait()
        fields = {"confirmed": "1", f"{action}-note": "Thank you."}
        self.follow(self.post_form(f"/disputes/{pk}/{action}/", name, fields))

    @task(1)
    def open_dispute(self) -> None:
        if not self.free or not self.may_write("dispute_open"):
            return
        number = self.free.pop(0)
        form = self.get(f"/orders/{number}/dispute/new/")
        if 'name="description"' not in (form.text or ""):
            Run.expected["open dispute: the page said no"] += 1
            return
        self.wait()
        fields = {
            "item_received": "yes",
            "reason": "damaged",
            "refund_type": "full",
            "return_item": "no",
            "description": "The case arrived with a crack across the front.",
            "why_unresolved": "The seller has not answered my message.",
        }
        response = self.post_form(
            f"/orders/{number}/dispute/new/", "post: open dispute with photo", fields, files=photo_files(1)
        )
        self.wrote("dispute_open")
        self.follow(response)

    @task(1)
    def unread(self) -> None:
        self.get("/messages/unread/")

    @task(1)
    def notifications(self) -> None:
        self.get("/notifications/")


class BuyerOnApi(Person):
    """A buyer in an app: a token, then the same work over the API."""

    fixed_count = len(CAST["buyers_app"])
    accounts = list(CAST["buyers_app"])

    def sign_in(self) -> bool:
        return self.api_sign_in()

    def on_start(self) -> None:
        super().on_start()
        self.orders = list(self.account["orders"])
        self.free = list(self.account["free"])

    @task(4)
    def orders_list(self) -> None:
        body = self.api("GET", "/api/orders/")
        self.orders = [row["number"] for row in body.get("results", [])] or self.orders

    @task(4)
    def order_detail(self) -> None:
        self.api("GET", f"/api/orders/{random.choice(self.orders)}/")

    @task(3)
    def thread(self) -> None:
        number = random.choice(self.orders)
        self.api("GET", f"/api/orders/{number}/messages/")
        self.api("POST", f"/api/orders/{number}/messages/read/", "api: mark thread read")

    @task(2)
    def post_message(self) -> None:
        if not self.may_write("messages"):
            return
        number = random.choice(self.orders)
        self.api(
            "POST",
            f"/api/orders/{number}/messages/",
            "api: post message with photo",
            expect=(201,),
            data={"body": "A photo from today."},
            files=photo_files(1),
        )
        self.wrote("messages")

    @task(4)
    def work_a_dispute(self) -> None:
        state = random.choice(["", "?state=awaiting_buyer", "?state=awaiting_buyer", "?state=awaiting_return"])
        rows = self.api("GET", f"/api/disputes/{state}").get("results", [])
        if not rows:
            return
        pk = random.choice(rows)["id"]
        dispute = self.api("GET", f"/api/disputes/{pk}/")
        if random.random() < 0.5 or not dispute:
            return
        self.wait()
        if dispute["state"] == "awaiting_buyer":
            countered = any(p["party"] == "seller" and p["kind"] == "counter" for p in dispute["proposals"])
            choice = random.random()
            if countered and choice < 0.6:
                self.api(
                    "POST",
                    f"/api/disputes/{pk}/accept/",
                    "api: accept offer",
                    body={"note": "Agreed."},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
            elif choice < 0.85:
                self.api(
                    "POST",
                    f"/api/disputes/{pk}/proposals/",
                    "api: modify request",
                    body={"refund_amount": "2.00", "note": "Half would be fair."},
                )
            else:
                self.api("POST", f"/api/disputes/{pk}/escalate/", "api: escalate", body={"note": "Please decide."})
        elif dispute["state"] == "awaiting_return":
            body = {"carrier": "dhl", "tracking_number": f"RT{uuid.uuid4().hex[:10]}"}
            self.api("POST", f"/api/disputes/{pk}/return-shipment/", "api: return shipment", body=body)

    @task(1)
    def open_dispute(self) -> None:
        if not self.free or not self.may_write("dispute_open"):
            return
        number = self.free.pop(0)
        fields = {
            "reason": "damaged",
            "item_received": "true",
            "refund_type": "full",
            "return_item": "false",
            "description": "The case arrived with a crack across the front.",
            "why_unresolved": "The seller has not answered.",
        }
        self.api(
            "POST",
            f"/api/orders/{number}/dispute/",
            "api: open dispute with photo",
            expect=(201,),
            data=fields,
            files=photo_files(1),
        )
        self.wrote("dispute_open")

    @task(2)
    def notifications(self) -> None:
        self.api("GET", random.choice(["/api/notifications/", "/api/messages/unread/"]))


# --- sellers --------------------------------------------------------------------------------------------


class SellerOnPages(Person):
    fixed_count = len(CAST["sellers_pages"])
    accounts = list(CAST["sellers_pages"])

    def on_start(self) -> None:
        super().on_start()
        self.orders: list[str] = []
        self.disputes: list[str] = []

    @task(4)
    def store_orders(self) -> None:
        show = random.choice(["", "", "?show=waiting", "?show=disputes"])
        response = self.get(f"/seller/orders/{show}")
        self.orders = ORDER_LINK.findall(response.text or "") or self.orders

    @task(4)
    def inbox(self) -> None:
        response = self.get("/seller/inbox/")
        self.orders = list(dict.fromkeys(ORDER_LINK.findall(response.text or "") + self.orders))[:60]

    @task(4)
    def read_order(self) -> None:
        if not self.orders:
            return self.store_orders()
        response = self.get(f"/orders/{random.choice(self.orders)}/")
        self.thumbnails(response.text or "")
        return None

    @task(2)
    def reply(self) -> None:
        if not self.orders or not self.may_write("messages"):
            return
        number = random.choice(self.orders)
        self.get(f"/orders/{number}/")
        self.wait()
        with_photo = random.random() < 0.3
        response = self.post_form(
            f"/orders/{number}/messages/",
            "post: message with photo" if with_photo else "post: message",
            {"body": "Thank you for the photos; we are looking into it."},
            files=photo_files(1) if with_photo else None,
        )
        self.wrote("messages")
        self.follow(response)

    @task(5)
    def answer_a_dispute(self) -> None:
        response = self.get(random.choice(["/disputes/?show=waiting", "/disputes/?show=waiting", "/disputes/"]))
        self.disputes = DISPUTE_LINK.findall(response.text or "")
        if not self.disputes:
            return
        pk = random.choice(self.disputes)
        page = self.get(f"/disputes/{pk}/")
        html = page.text or ""
        self.thumbnails(html)
        actions = set(ACTION.findall(html))
        if random.random() < 0.35:
            return  # read only
        if "reject" in actions:  # waiting for the seller: counter, reject or accept
            choice = random.random()
            self.wait()
            if choice < 0.45:
                fields = {"propose-refund_amount": "3.00", "propose-note": "I can refund part of it."}
                self.follow(self.post_form(f"/disputes/{pk}/propose/", "post: dispute counter-offer", fields))
            elif choice < 0.75:
                fields = {"reject-note": "The item was checked before it left."}
                self.follow(self.post_form(f"/disputes/{pk}/reject/", "post: dispute reject", fields))
            else:
                self.confirmed(pk, "accept", {}, "post: dispute accept request")
        elif "return_received" in actions:
            self.confirmed(pk, "return_received", {"return_received-condition": "ok"}, "post: return received")

    def confirmed(self, pk: str, action: str, fields: dict, name: str) -> None:
        self.get(f"/disputes/{pk}/{action}/confirm/")
        self.wait()
        fields = {"confirmed": "1", **fields}
        self.follow(self.post_form(f"/disputes/{pk}/{action}/", name, fields))

    @task(1)
    def notifications(self) -> None:
        self.get("/notifications/")


class SellerOnApi(Person):
    fixed_count = len(CAST["sellers_app"])
    accounts = list(CAST["sellers_app"])

    def sign_in(self) -> bool:
        return self.api_sign_in()

    def on_start(self) -> None:
        super().on_start()
        self.orders: list[str] = []

    @task(3)
    def orders_list(self) -> None:
        body = self.api("GET", "/api/orders/")
        self.orders = [row["number"] for row in body.get("results", [])] or self.orders

    @task(3)
    def thread(self) -> None:
        if self.orders:
            self.api("GET", f"/api/orders/{random.choice(self.orders)}/messages/")

    @task(5)
    def answer_a_dispute(self) -> None:
        state = random.choice(["awaiting_seller", "awaiting_seller", "return_in_transit"])
        rows = self.api("GET", f"/api/disputes/?state={state}").get("results", [])
        if not rows:
            return
        pk = random.choice(rows)["id"]
        dispute = self.api("GET", f"/api/disputes/{pk}/")
        if random.random() < 0.35 or not dispute:
            return
        self.wait()
        if dispute["state"] == "awaiting_seller":
            if random.random() < 0.6:
                self.api(
                    "POST",
                    f"/api/disputes/{pk}/proposals/",
                    "api: counter-offer",
                    body={"refund_amount": "3.00", "note": "I can refund part of it."},
                )
            else:
                self.api("POST", f"/api/disputes/{pk}/reject/", "api: reject", body={"note": "Checked before it left."})
        elif dispute["state"] == "return_in_transit":
            self.api(
                "POST",
                f"/api/disputes/{pk}/return-received/",
                "api: return received",
                body={"condition": "ok"},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )

    @task(1)
    def notifications(self) -> None:
        self.api("GET", "/api/notifications/")


# --- the dispute team -----------------------------------------------------------------------------------


QUEUE = "/admin/disputes/reviewqueueitem/"


class TeamMember(Person):
    """Admin's review queue, signed in with the password and then the authenticator's code."""

    fixed_count = len(CAST["team"])
    accounts = list(CAST["team"])

    def sign_in(self) -> bool:
        self.get("/accounts/login/")
        fields = {"username": self.account["username"], "password": PASSWORD, "next": ""}
        response = self.post_form("/accounts/login/", "signin: password", fields)
        if response.status_code != 302 or not response.headers.get("location", "").startswith("/accounts/login/code/"):
            return False
        self.get("/accounts/login/code/")
        code = {"code": totp(self.account["totp_key"])}
        response = self.post_form("/accounts/login/code/", "signin: two-step code", code)
        if response.status_code != 302:
            return False
        self.follow(response)
        return True

    def on_start(self) -> None:
        super().on_start()
        self.seen: list[str] = []

    @task(3)
    def queue(self) -> None:
        query = random.choice(["", "?who=mine", "?who=unassigned", "?state=under_review", "?sla=ok"])
        response = self.get(QUEUE + query)
        self.seen = REVIEW_LINK.findall(response.text or "") or self.seen

    @task(4)
    def review(self) -> None:
        if not self.seen:
            return self.queue()
        response = self.get(f"{QUEUE}{random.choice(self.seen)}/review/")
        self.thumbnails(response.text or "")
        return None

    @task(3)
    def rule(self) -> None:
        """One of my disputes under review: read it, then rule (full refund or none)."""
        mine = REVIEW_LINK.findall(self.get(QUEUE + "?who=mine&state=under_review").text or "")
        if not mine:
            return
        pk = random.choice(mine)
        page = self.get(f"{QUEUE}{pk}/review/")
        if 'name="rule-outcome"' not in (page.text or ""):
            return
        self.wait()
        outcome = random.choice(["full_refund", "full_refund", "no_refund"])
        fields = {
            "step": "rule",
            "rule-outcome": outcome,
            "rule-refund_amount": "",
            "rule-note": "Decided on the photos and the thread.",
        }
        self.follow(self.post_form(f"{QUEUE}{pk}/review/", "admin: rule", fields))

    @task(1)
    def write_to_parties(self) -> None:
        mine = REVIEW_LINK.findall(self.get(QUEUE + "?who=mine").text or "")
        if not mine:
            return
        pk = random.choice(mine)
        page = self.get(f"{QUEUE}{pk}/review/")
        if 'name="msg-body"' not in (page.text or ""):
            return
        self.wait()
        fields = {"step": "message", "msg-body": "Could you both add a photo of the label on the parcel?"}
        self.follow(self.post_form(f"{QUEUE}{pk}/review/", "admin: message to both parties", fields))

    @task(1)
    def next_dispute(self) -> None:
        self.get(QUEUE + "next/")

    @task(1)
    def dashboard(self) -> None:
        self.get(QUEUE + "dashboard/")


# --- the platform ---------------------------------------------------------------------------------------


class Platform(Person):
    """The marketplace's service account: new orders, then their shipments and deliveries."""

    fixed_count = len(CAST["platform"])
    accounts = list(CAST["platform"])

    def sign_in(self) -> bool:
        return self.api_sign_in()

    def on_start(self) -> None:
        super().on_start()
        self.placed: list[str] = []
        self.shipped: list[str] = []

    @staticmethod
    def _at(delta: timedelta = timedelta(0)) -> str:
        return (datetime.now(UTC) + delta).isoformat()

    @task(3)
    def create_order(self) -> None:
        number = f"LT-{self.account['username']}-{uuid.uuid4().hex[:10]}"
        body = {
            "number": number,
            "buyer": random.choice(CAST["buyer_usernames"]),
            "seller": random.choice(CAST["store_slugs"]),
            "carrier": random.choice(["dhl", "ups", "fedex"]),
            "placed_at": self._at(-timedelta(hours=1)),
            "ship_by": self._at(timedelta(days=3)),
            "total": "42.50",
            "currency": "USD",
            "items": [{"title": "Desk organiser", "quantity": 1, "unit_price": "42.50"}],
        }
        self.api("POST", "/api/orders/", "api: create order", expect=(201,), body=body)
        self.placed.append(number)

    @task(2)
    def ship(self) -> None:
        if self.placed:
            number = self.placed.pop(0)
            body = {"carrier": "dhl", "tracking_number": f"TR{uuid.uuid4().hex[:10]}", "shipped_at": self._at()}
            self.api("POST", f"/api/orders/{number}/shipment/", "api: record shipment", expect=(200, 201), body=body)
            self.shipped.append(number)

    @task(2)
    def deliver(self) -> None:
        if self.shipped:
            number = self.shipped.pop(0)
            body = {"delivered_at": self._at()}
            self.api("POST", f"/api/orders/{number}/delivery/", "api: record delivery", expect=(200, 201), body=body)

    @task(1)
    def read(self) -> None:
        self.api("GET", random.choice(["/api/orders/?status=shipped", "/api/orders/"]))
