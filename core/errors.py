"""The one error a business rule raises. Pages turn it into a form message, the API into a 409."""


class RuleViolation(Exception):
    """A business rule refused an action.

    `code` is the stable snake_case code clients rely on (docs/rules.md §6); `detail` is a sentence a
    person can act on. `status` is 409 unless a rule says otherwise.
    """

    status = 409

    def __init__(self, code: str, detail: str, *, status: int | None = None, fields: dict | None = None):
        super().__init__(detail)
        self.code = code
        self.detail = str(detail)
        # Input errors named by field ({"items": ["..."]}), shown beside the field and in the API's `fields`.
        self.fields = {name: [str(m) for m in messages] for name, messages in (fields or {}).items()}
        if status is not None:
            self.status = status
