"""Values the suite sends at the edges of the contract's rules: near misses, date-times, base64.

The rules themselves (limits, enums, formats) are read from the spec; these are the suite's own
ideas of what a careless client or a lenient provider gets wrong.
"""

from __future__ import annotations


def near_misses(value: str) -> list[str]:
    """Spellings a careless client might send for an enum member: case, spaces, a letter more or less."""
    candidates = [value.upper(), value.lower(), value.capitalize(), f"{value} ", f" {value}", value[:-1], value + "S"]
    return [candidate for candidate in dict.fromkeys(candidates) if candidate != value]


# RFC 3339 date-times every provider must take: upper-case T and Z, offsets, fractions.
VALID_DATE_TIMES = ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00.123+02:00", "2025-01-15T10:30:00-05:00")
# RFC 3339 allows lower case too, and lets a specification require upper case: a provider's choice.
LOWER_CASE_DATE_TIMES = ("2025-01-15t10:30:00z",)
INVALID_DATE_TIMES = ("2025-01-15", "2025-13-01T00:00:00Z", "2025-01-15T25:00:00Z", "yesterday", "2025-01-15 10:30:00Z")
VALID_BASE64 = ("ZmlsZSBudW1iZXIgMQ==", "ZmlsZSBudW1iZXIgMQ", "string")
INVALID_BASE64 = ("Zm9v!", "Zm9vY", "Zm9v YmFy", "Zg=")
# Values JSON types tell apart from an integer, strictly (CONTRACT.md: "1" or true is not one).
NOT_INTEGERS = {"string-1": "1", "true": True, "fraction": 1.5}
# A value far over any field's limit, small enough for any sane body size limit.
FAR_OVER_LENGTH = 200 * 1024
