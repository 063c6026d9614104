"""Every bound of creation's inputs, declared once. The API's serializers, the pages' forms and
the services all take their limits from here, and the OpenAPI schema shows them."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from rest_framework import serializers

MAX_PROMPT = 1000  # characters of a prompt or a negative prompt
MAX_QUERY = 200  # characters of a studio query


@dataclass(frozen=True)
class Range:
    low: int | float
    high: int | float
    integer: bool = True

    def __contains__(self, value) -> bool:
        return self.low <= value <= self.high

    def api_field(self, **kwargs) -> serializers.Field:
        field = serializers.IntegerField if self.integer else serializers.FloatField
        return field(min_value=self.low, max_value=self.high, **kwargs)

    def form_field(self, **kwargs) -> forms.Field:
        field = forms.IntegerField if self.integer else forms.FloatField
        return field(min_value=self.low, max_value=self.high, **kwargs)


SEED = Range(0, 2**32 - 1)
STEPS = Range(1, 50)
NUM_IMAGES = Range(1, 4)
GUIDANCE_SCALE = Range(0, 20, integer=False)
FIDELITY = Range(0, 1, integer=False)
MIN_SIDE = 64
