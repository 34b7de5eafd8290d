"""Store rules: every store has a return policy; only its owner changes it."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import audit
from core.errors import RuleViolation
from sellers.models import ReturnPolicy, ReturnReason, Store

DEFAULT_COVERED_REASONS = [r.value for r in ReturnReason if r != ReturnReason.CHANGED_MIND]


def store_policy(store: Store) -> ReturnPolicy:
    """The store's current policy, creating the default one on first use."""
    policy, _created = ReturnPolicy.objects.get_or_create(
        store=store, defaults={"covered_reasons": DEFAULT_COVERED_REASONS}
    )
    return policy


def return_policy_update(*, actor: User, store: Store, **fields) -> ReturnPolicy:
    """Replace the store's policy fields (any of ReturnPolicy.EDITABLE_FIELDS; another name is a
    programming error). Orders already placed keep their snapshot."""
    if store.owner_id != actor.pk:
        raise RuleViolation("forbidden", _("Only the store owner can change its return policy."), status=403)
    unknown = set(fields) - set(ReturnPolicy.EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"unknown policy fields: {sorted(unknown)}")
    with transaction.atomic():
        policy = store_policy(store)
        policy = ReturnPolicy.objects.select_for_update().get(pk=policy.pk)
        for name, value in fields.items():
            setattr(policy, name, value)
        try:
            policy.full_clean()
        except ValidationError as invalid:
            # The page and the API check the same rules first; a caller that did not is told why.
            raise RuleViolation("invalid", " ".join(invalid.messages), status=400) from None
        policy.save()
    audit("return_policy.updated", store=store.slug, actor=actor.username, fields=sorted(fields))
    return policy
