"""URL converters of our own, registered on import (each urls module that uses one imports
this module, so the registration happens once, before the first pattern is built)."""

from __future__ import annotations

from django.urls import register_converter

# The widest id a row can have: a signed 64-bit integer (BigAutoField on PostgreSQL, and
# SQLite's INTEGER). Django's <int:...> takes any number of digits, and a wider one reached a
# query that overflowed (a 500 on SQLite).
MAX_ID = 2**63 - 1


class DatabaseId:
    """`<id:name>`: a row's id. Past `MAX_ID` no route matches, so the answer is a 404."""

    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        # Compared by length first: int() refuses text of more than 4,300 digits.
        digits = value.lstrip("0") or "0"
        if len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID:
            raise ValueError(f"{value[:30]} is past the widest id a row can have")
        return int(digits)

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(DatabaseId, "id")
