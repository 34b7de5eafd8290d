"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test body
# are still synchronous. This applies to the browser tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Browser tests need Chromium at {CHROMIUM}: run 'make browser' (apt-get install chromium).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
    }


@pytest.fixture(autouse=True)
def no_console_error_or_failed_request(request, browser):
    """Every page a browser test opens: no console error and no failed request (nor a response of
    400 or more) in the whole journey, unless the test is refused on purpose (`refusals_expected`)."""
    problems: list[str] = []

    def watch(page):
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("requestfailed", lambda req: problems.append(f"failed: {req.url} {req.failure}"))
        page.on("response", lambda res: res.status >= 400 and problems.append(f"{res.status}: {res.url}"))

    real_new_context, real_new_page = browser.new_context, browser.new_page

    def new_context(*args, **kwargs):
        context = real_new_context(*args, **kwargs)
        context.on("page", watch)
        return context

    def new_page(*args, **kwargs):
        page = real_new_page(*args, **kwargs)
        watch(page)
        return page

    browser.new_context, browser.new_page = new_context, new_page
    yield
    browser.new_context, browser.new_page = real_new_context, real_new_page
    if request.node.get_closest_marker("refusals_expected") is None:
        # Aborted navigations when a test ends mid-load are not the app's failures.
        real = [p for p in problems if "net::ERR_ABORTED" not in p]
        assert not real, "In this journey:\n" + "\n".join(real)


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture
def sign_in(live_server):
    def sign_in(page, username: str, password: str = "demo") -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("domcontentloaded")

    return sign_in
