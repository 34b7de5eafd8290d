"""The five catalogs (locale/<language>/LC_MESSAGES/django.po) are complete, correct and current:
every entry translated (every plural form too), none fuzzy, none left in English but the few that are the
same in that language (below), every placeholder kept (`msgfmt --check-format`), and every string the code
and templates mark for translation present in every catalog (makemessages run over the code into a
temporary folder, never into locale/).

When this fails after a change of wording: `manage.py makemessages` for the five languages (README,
"Languages"), translate what is new or fuzzy, then `make messages`."""

import contextlib
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils.translation import to_locale

LOCALE = Path(settings.LOCALE_PATHS[0])
CATALOGS = ["zh_Hans", "es", "ru", "pt_BR", "fr"]

# Entries that are the same in a language as in English, on purpose: the brand, and words that language
# writes alike. Anything else identical to its English is a string nobody translated.
SAME_EVERYWHERE = {"Dispute desk", "OK"}
SAME_IN = {
    "es": {
        "No",
        "Total",
        "total",
        "Error:",
        "Error 400",
        "Error 403",
        "Error 404",
        "Error 413",
        "Error 500",
        "Original (%(language)s)",
    },
    "pt_BR": {"Menu", "Item", "item", "Total", "total", "Cache", "Original (%(language)s)"},
    # French shares these words with English (and "slug" and "code" are the same technical terms).
    "fr": {
        "Cache",
        "code",
        "Description",
        "Menu",
        "Message",
        "message",
        "Messages",
        "messages",
        "%(n)s message",
        "Migrations",
        "Note",
        "note",
        "Notes",
        "notes",
        "Notifications",
        "Pages",
        "Photo %(n)s",
        "photo",
        "(%(n)s photo)",
        "Photos",
        "photos",
        "slug",
        "Total",
        "total",
    },
    "ru": set(),
    "zh_Hans": set(),
}
# What remains of a msgid once its placeholders, numbers and punctuation are taken out: nothing means the
# entry is only placeholders ("%(title)s × %(n)s"), the same in every language.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}|&\w+;|<[^>]+>")
NOT_WORDS = re.compile(r"[\W\d_]+")

# What makemessages reads: the project's folders, without the virtualenv, build output and the catalogs.
NOT_SOURCES = {".venv", "var", "locale", "staticfiles", "node_modules", ".git", ".pytest_cache", ".ruff_cache"}


@cache
def catalog(locale: str) -> Catalog:
    with (LOCALE / locale / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale=locale)


def entries(locale: str) -> list[Message]:
    return [message for message in catalog(locale) if message.id]  # the header has no msgid


def forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def english(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


def key(message: Message) -> tuple[str | None, str]:
    return message.context, english(message)


def shown(messages, limit: int = 15) -> str:
    listed = [repr(m if isinstance(m, str) else english(m)) for m in list(messages)[:limit]]
    more = len(messages) - limit
    return "\n  ".join(listed) + (f"\n  ... and {more} more" if more > 0 else "")


def test_there_is_a_catalog_for_every_language_the_site_offers_but_english():
    offered = {to_locale(code) for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE}
    assert offered == set(CATALOGS)
    for locale in CATALOGS:
        assert (LOCALE / locale / "LC_MESSAGES" / "django.po").is_file(), locale


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_entry_is_translated_in_every_plural_form(locale):
    plurals = catalog(locale).num_plurals
    empty = [m for m in entries(locale) if not all(forms(m)) or (isinstance(m.id, tuple) and len(forms(m)) != plurals)]
    assert not empty, f"{locale}: {len(empty)} entries not translated:\n  {shown(empty)}"


@pytest.mark.parametrize("locale", CATALOGS)
def test_no_entry_is_fuzzy(locale):
    assert not catalog(locale).fuzzy, f"{locale}: the header is marked fuzzy"
    fuzzy = [m for m in entries(locale) if m.fuzzy]
    assert not fuzzy, f"{locale}: {len(fuzzy)} fuzzy entries:\n  {shown(fuzzy)}"


def left_in_english(locale: str, message: Message) -> bool:
    text = english(message)
    if forms(message)[0] != text or text in SAME_EVERYWHERE | SAME_IN[locale]:
        return False
    return bool(NOT_WORDS.sub("", PLACEHOLDER.sub("", text)))


@pytest.mark.parametrize("locale", CATALOGS)
def test_no_entry_is_left_in_english(locale):
    same = [m for m in entries(locale) if left_in_english(locale, m)]
    assert not same, f"{locale}: {len(same)} entries identical to their English:\n  {shown(same)}"


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_placeholder_survives_msgfmt_check_format(locale):
    if shutil.which("msgfmt") is None:
        pytest.fail("msgfmt is missing: `make messages` installs gettext")
    po = LOCALE / locale / "LC_MESSAGES" / "django.po"
    checked = subprocess.run(
        ["msgfmt", "--check-format", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0 and not checked.stderr, checked.stderr


@pytest.fixture(scope="module")
def in_the_code(tmp_path_factory) -> dict[tuple[str | None, str], Message]:
    """Every string the code and templates mark, as makemessages finds them, run over links to the project's
    folders with the catalogs pointed at a temporary folder."""
    root = tmp_path_factory.mktemp("makemessages")
    base = Path(settings.BASE_DIR)
    for source in base.iterdir():
        if source.name not in NOT_SOURCES:
            (root / source.name).symlink_to(source)
    (root / "locale").mkdir()
    with override_settings(LOCALE_PATHS=[root / "locale"]), contextlib.chdir(root):
        call_command("makemessages", locale=["en"], symlinks=True, add_location="never", verbosity=0)
    with (root / "locale" / "en" / "LC_MESSAGES" / "django.po").open("rb") as po:
        return {key(m): m for m in read_po(po) if m.id}


@pytest.mark.parametrize("locale", CATALOGS)
def test_every_string_in_the_code_is_in_every_catalog(in_the_code, locale):
    assert len(in_the_code) > 1000  # the extraction found the project's strings
    have = {key(m) for m in entries(locale)}
    missing = [m for k, m in in_the_code.items() if k not in have]
    assert not missing, (
        f"{locale}: {len(missing)} strings of the code are not in the catalog (run makemessages):\n  {shown(missing)}"
    )
