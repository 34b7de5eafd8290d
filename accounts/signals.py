"""API tokens die with the password that earned them: a password change or a deactivation revokes
every token of the user (django-rest-knox stores them hashed, so they are deleted, not shown)."""

from django.db.models.signals import post_save, pre_save

from core.audit import audit


def _remember_old(sender, instance, **_kwargs):
    if instance.pk is None:
        return
    old = sender.objects.filter(pk=instance.pk).values("is_active").first()
    # set_password() leaves the new raw password in _password until the save; Django's upgrade of
    # a password's hash (on sign-in) clears it first, so a re-hash is not a change.
    instance._old_credentials = old and {**old, "password_changed": getattr(instance, "_password", None) is not None}


def _revoke_if_changed(sender, instance, created, **_kwargs):
    from knox.models import AuthToken

    old = getattr(instance, "_old_credentials", None)
    if created or old is None:
        return
    why = None
    if old["password_changed"]:
        why = "password_changed"
    elif old["is_active"] and not instance.is_active:
        why = "deactivated"
    if why:
        revoked, _ = AuthToken.objects.filter(user=instance).delete()
        if revoked:
            audit("token.revoked", user=instance.username, why=why, count=revoked)


def connect(user_model) -> None:
    pre_save.connect(_remember_old, sender=user_model, dispatch_uid="tokens_remember_old")
    post_save.connect(_revoke_if_changed, sender=user_model, dispatch_uid="tokens_revoke_if_changed")
