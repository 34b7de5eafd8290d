from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When something that must keep running last ran: one row per name, overwritten each time
    (core/heartbeat.py). /readyz and the operator's page read it."""

    name = models.CharField(_("name"), max_length=50, primary_key=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
