import zoneinfo
from functools import cache

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from accounts.models import User

# Files of the zone database that are not zones to live in.
NOT_ZONES = {"localtime", "posixrules", "Factory"}


@cache
def _zones() -> list[tuple[str, str]]:
    """Every zone the server knows ("Asia/Shanghai" reads "Asia / Shanghai")."""
    zones = sorted(zoneinfo.available_timezones() - NOT_ZONES)
    return [(zone, zone.replace("/", " / ").replace("_", " ")) for zone in zones]


def language_choices() -> list[tuple[str, str]]:
    """Each language in its own words and in the reader's ("Español (Spanish)"), so someone who cannot
    read the page's language still finds theirs; first, leaving the choice to the browser."""
    choices = [("", _("The language my browser asks for"))]
    for code, name in settings.LANGUAGES:
        own = get_language_info(code)["name_local"]
        shown = str(name)
        choices.append((code, shown if own.lower() == shown.lower() else f"{own} ({shown})"))
    return choices


class PreferencesForm(forms.ModelForm):
    """A person's language and time zone (the settings page)."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=language_choices,
        help_text=_(
            "Pages, notices and emails are written in this language. Left to your browser, they follow the "
            "language it asked for when you last signed in."
        ),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=_zones, help_text=_("Every date and time on the site is shown in this zone.")
    )

    class Meta:
        model = User
        fields = ["language", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The zone a person has is always offered, so saving the form never changes it behind their back.
        zone = self.instance.time_zone
        if zone and zone not in dict(_zones()):
            self.fields["time_zone"].choices = [(zone, zone), *_zones()]
