from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from sellers.models import (
    COUNTRY_CODE_HELP,
    Payer,
    ReturnPolicy,
    ReturnReason,
    normalize_country_code,
    policy_contradictions,
    validate_country_code,
)


class ReturnAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, allow_blank=True, required=False, default="")
    line1 = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    line2 = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    city = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")
    postal_code = serializers.CharField(max_length=20, allow_blank=True, required=False, default="")
    country = serializers.CharField(
        max_length=20,  # a name such as "Germany" gets the message below, not a length error
        allow_blank=True,
        required=False,
        default="",
        help_text=COUNTRY_CODE_HELP,
    )

    def validate_country(self, value: str) -> str:
        """Same rule as the page: a two-letter code in either case, stored in upper case."""
        try:
            validate_country_code(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(list(error.messages), code="invalid_country") from None
        return normalize_country_code(value)


class ReturnPolicySerializer(serializers.Serializer):
    """The policy as buyers read it and owners write it; also the shape of an order's snapshot."""

    accepts_returns = serializers.BooleanField()
    return_days = serializers.IntegerField(min_value=0, max_value=settings.RETURN_DAYS_MAX)
    covered_reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=ReturnReason.choices), allow_empty=True, max_length=len(ReturnReason)
    )
    change_of_mind_shipping_payer = serializers.ChoiceField(choices=Payer.choices)
    defective_shipping_payer = serializers.ChoiceField(choices=Payer.choices)
    wrong_item_shipping_payer = serializers.ChoiceField(choices=Payer.choices)
    free_returns = serializers.BooleanField()
    refund_without_return = serializers.BooleanField()
    condition_rules = serializers.CharField(max_length=2000, allow_blank=True)
    notes = serializers.CharField(max_length=4000, allow_blank=True)
    return_address = ReturnAddressSerializer()
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        if isinstance(instance, ReturnPolicy):
            instance = instance.snapshot()
        return super().to_representation(instance)

    def validate_covered_reasons(self, value):
        return list(dict.fromkeys(value))  # drop repeats, keep order

    def validate(self, attrs):
        errors = policy_contradictions(attrs)
        if errors:
            raise serializers.ValidationError({name: [message] for name, message in errors.items()})
        return attrs

    @staticmethod
    def to_model_fields(validated: dict) -> dict:
        fields = {k: v for k, v in validated.items() if k != "return_address"}
        address = validated.get("return_address") or {}
        for key in ReturnPolicy.ADDRESS_KEYS:
            if key in address:
                fields[f"address_{key}"] = address[key]
        return fields
