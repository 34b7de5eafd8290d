import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from disputes.diagram import mermaid


class Command(BaseCommand):
    help = "Print the dispute state diagram drawn from the workflow table; --write updates docs/disputes.md."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, write=False, **options):
        diagram = mermaid()
        if not write:
            self.stdout.write(diagram)
            return
        doc = Path(settings.BASE_DIR) / "docs" / "disputes.md"
        text = re.sub(r"```mermaid\n.*?\n```", lambda _m: f"```mermaid\n{diagram}\n```", doc.read_text(), flags=re.S)
        doc.write_text(text)
        self.stdout.write(f"updated {doc}")
