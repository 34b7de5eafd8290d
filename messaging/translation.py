"""Translating a message between a buyer and a seller who read different languages.

Messages are the parties' own words and are kept as evidence: a translation is shown beside the
original, never instead of it, and never stored as the message. Who translates is a setting,
`MESSAGE_TRANSLATOR` (a `TranslationProvider`'s dotted path). The default, `NoTranslation`, sends no
text anywhere and answers that no translation is available; a provider that calls a service outside
sends the message's text there, which is the operator's decision to make.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string

from messaging.models import Message
from notifications.render import language_of

log = logging.getLogger("dispute_desk.messaging")

# A message never changes, so neither does its translation: kept a day per message and language.
KEEP_SECONDS = 24 * 3600


class TranslationProvider:
    """Turns text written in one of the site's languages (`source`, e.g. "zh-hans") into another
    (`target`). None when it cannot: the page then says no translation is available."""

    def translate(self, text: str, source: str, target: str) -> str | None:
        raise NotImplementedError


class NoTranslation(TranslationProvider):
    """The default: sends nothing anywhere, translates nothing."""

    def translate(self, text: str, source: str, target: str) -> str | None:
        return None


def provider() -> TranslationProvider:
    return import_string(settings.MESSAGE_TRANSLATOR)()


@dataclass(frozen=True)
class Translation:
    source: str  # the author's language
    target: str  # the reader's
    text: str | None  # None: no translation available


def message_translate(*, message: Message, target: str) -> Translation:
    """`message` in `target`, from its author's language, as the configured provider puts it. A provider
    that fails is logged and counts as no translation: the original still shows."""
    source = language_of(message.author)
    if source == target or not message.body:
        return Translation(source, target, message.body or None)
    key = f"message-translation:{settings.MESSAGE_TRANSLATOR}:{message.pk}:{source}:{target}"
    text = cache.get(key)
    if text is None:
        try:
            text = provider().translate(message.body, source, target)
        except Exception:
            log.exception("message=%s could not be translated from %s to %s", message.pk, source, target)
            text = None
        if text:
            cache.set(key, text, KEEP_SECONDS)
    return Translation(source, target, text or None)
