"""Load for the outage tests: threads that act as people would, against a live server, noting every answer.

Half the threads use the API (the sign-in page, a token, the disputes list, an order, a message posted), half
the pages (sign in through the form, the order page, a message posted through its form). Each answer is noted
with the phase the test was in when the request started."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

import requests

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass(frozen=True)
class Answer:
    phase: str
    what: str
    status: int | str  # an HTTP status, or the error when there was no answer
    seconds: float


@dataclass
class Person:
    username: str
    order: str  # an order they are a party to


@dataclass
class Load:
    base: str
    people: list[Person]
    phase: str = "before"
    answers: list[Answer] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)  # bodies of the messages the server said it took
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for n, person in enumerate(self.people):
            act = self._api_round if n % 2 == 0 else self._page_round
            thread = threading.Thread(target=self._loop, args=(act, person, n), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _loop(self, act, person: Person, n: int) -> None:
        rounds = 0
        while not self._stop.is_set():
            rounds += 1
            try:
                act(requests.Session(), person, f"{person.username} {n}.{rounds} {self.phase}")
            except _NoAnswer:
                pass  # noted; start the round again
            except Exception as error:  # an answer the round could not go on from (no form, no token)
                self._note(Answer(self.phase, "round", f"{type(error).__name__}: {error}", 0.0))
            time.sleep(0.05)

    def _call(self, session: requests.Session, what: str, method: str, path: str, **kwargs) -> requests.Response:
        phase, started = self.phase, time.monotonic()
        try:
            response = session.request(method, self.base + path, timeout=30, allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            self._note(Answer(phase, what, f"{type(error).__name__}: {error}", time.monotonic() - started))
            raise _NoAnswer from error
        self._note(Answer(phase, what, response.status_code, time.monotonic() - started))
        return response

    def _note(self, answer: Answer) -> None:
        with self._lock:
            self.answers.append(answer)

    def _api_round(self, session: requests.Session, person: Person, label: str) -> None:
        self._call(session, "GET sign-in page", "GET", "/accounts/login/")
        token = self._call(
            session, "POST /api/auth/token/", "POST", "/api/auth/token/",
            json={"username": person.username, "password": "demo"},
        ).json().get("token")  # fmt: skip
        auth = {"Authorization": f"Token {token}"}
        self._call(session, "GET /api/disputes/", "GET", "/api/disputes/", headers=auth)
        self._call(session, "GET /api/orders/N/", "GET", f"/api/orders/{person.order}/", headers=auth)
        body = f"api {label}"
        response = self._call(
            session, "POST /api/orders/N/messages/", "POST", f"/api/orders/{person.order}/messages/",
            json={"body": body}, headers=auth,
        )  # fmt: skip
        if response.status_code == 201:
            self._posted(body)

    def _page_round(self, session: requests.Session, person: Person, label: str) -> None:
        page = self._call(session, "GET sign-in page", "GET", "/accounts/login/")
        token = _form_token(page)
        self._call(
            session, "POST sign-in page", "POST", "/accounts/login/",
            data={"username": person.username, "password": "demo", "csrfmiddlewaretoken": token},
        )  # fmt: skip
        page = self._call(session, "GET order page", "GET", f"/orders/{person.order}/")
        token = _form_token(page)
        body = f"page {label}"
        response = self._call(
            session, "POST order page message", "POST", f"/orders/{person.order}/messages/",
            data={"body": body, "csrfmiddlewaretoken": token},
        )  # fmt: skip
        if response.status_code == 302:
            self._posted(body)

    def _posted(self, body: str) -> None:
        with self._lock:
            self.posted.append(body)

    def statuses(self, phase: str | None = None) -> Counter:
        return Counter((a.what, a.status) for a in self.answers if phase is None or a.phase == phase)

    def failures(self) -> list[Answer]:
        """Every answer that was not a success: a 5xx, a 4xx, or no answer at all."""
        return [a for a in self.answers if not (isinstance(a.status, int) and a.status < 400)]

    def seconds(self, phase: str) -> list[float]:
        return sorted(a.seconds for a in self.answers if a.phase == phase)

    def summary(self) -> str:
        """Per phase: requests, failures, median, 95th percentile and slowest, in seconds."""
        lines = []
        for phase in dict.fromkeys(a.phase for a in self.answers):
            times = self.seconds(phase)
            failed = sum(1 for a in self.failures() if a.phase == phase)
            p95 = times[int(len(times) * 0.95)]
            lines.append(
                f"{phase}: {len(times)} requests, {failed} failed, median {median(times):.3f}s,"
                f" p95 {p95:.3f}s, slowest {times[-1]:.3f}s, {sum(t >= 1 for t in times)} took 1 s or more"
            )
        return "\n".join(lines)


class _NoAnswer(Exception):
    pass


def _form_token(page: requests.Response) -> str:
    found = CSRF_INPUT.search(page.text)
    if found is None:
        raise ValueError(f"no form with a CSRF token on {page.url} ({page.status_code})")
    return found.group(1)
