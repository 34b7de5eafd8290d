import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from disputes.diagram import clock_table, mermaid


class Command(BaseCommand):
    help = "Print the state diagram and clock table drawn from the workflow; --write updates docs/disputes.md."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, write=False, **options):
        diagram, clocks = mermaid(), clock_table()
        if not write:
            self.stdout.write(f"{diagram}\n\n{clocks}")
            return
        doc = Path(settings.BASE_DIR) / "docs" / "disputes.md"
        text = re.sub(r"```mermaid\n.*?\n```", lambda _m: f"```mermaid\n{diagram}\n```", doc.read_text(), flags=re.S)
        text = re.sub(
            r"<!-- clocks:start -->\n.*?\n<!-- clocks:end -->",
            lambda _m: f"<!-- clocks:start -->\n{clocks}\n<!-- clocks:end -->",
            text,
            flags=re.S,
        )
        doc.write_text(text)
        self.stdout.write(f"updated {doc}")
