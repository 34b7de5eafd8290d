r"""docs/openapi.yaml is the API's OpenAPI schema exactly as the code generates it, byte for byte.

When this test fails, the API changed (a serializer, a view, a URL, a docstring, a moved module):
regenerate the file from the repository root and commit it with the change:

    DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=postgres://root@127.0.0.1:5432/dispute_desk \
        .venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate

The test settings and a PostgreSQL DATABASE_URL matter: integer bounds in the schema follow the
database backend (SQLite's are wider). Generating needs no running database. The output is
deterministic: drf-spectacular sorts paths and components, so two runs give the same file.
"""

import difflib
from pathlib import Path

from django.conf import settings
from django.utils import translation
from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.validation import validate_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

REGENERATE = (
    "DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=postgres://root@127.0.0.1:5432/dispute_desk "
    ".venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate"
)


def generated_schema() -> bytes:
    """What `manage.py spectacular --file ... --validate` writes, built in this process."""
    generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
    with translation.override(settings.LANGUAGE_CODE):
        schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    return OpenApiYamlRenderer().render(schema, renderer_context={})


def test_docs_openapi_yaml_is_the_generated_schema():
    r"""If this fails, regenerate docs/openapi.yaml from the repository root and commit it:

    DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL=postgres://root@127.0.0.1:5432/dispute_desk \
        .venv/bin/python manage.py spectacular --file docs/openapi.yaml --validate
    """
    assert SCHEMA_FILE.exists(), f"docs/openapi.yaml is missing. From the repository root, run:\n\n    {REGENERATE}\n"
    expected = generated_schema()
    committed = SCHEMA_FILE.read_bytes()
    if committed == expected:
        return
    diff = difflib.unified_diff(
        committed.decode().splitlines(),
        expected.decode().splitlines(),
        fromfile="docs/openapi.yaml (committed)",
        tofile="generated from the code",
        lineterm="",
    )
    shown = "\n".join(list(diff)[:60])
    raise AssertionError(
        "docs/openapi.yaml is out of date with the API. From the repository root, run:\n\n"
        f"    {REGENERATE}\n\n"
        f"and commit the file. First differences:\n{shown}"
    )
