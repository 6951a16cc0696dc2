"""The admin's search box, widened past Django's word search for addresses and call numbers."""

import operator
from functools import reduce

from django.db.models import Q

from contactcenter.admin import normalized_search_address, search_call_id


class WidenedSearchMixin:
    """Django's word search OR: an address typed in any format ("+1 (415) 555-0101") against
    the stored canonical form, and a call number ("#42").

    Put it before the ModelAdmin class in the bases.
    """

    search_address_fields: tuple[str, ...] = ()
    # The field holding the call's number ("pk" on calls, "call_id" on the audit trail).
    search_call_field = ""

    def address_search_condition(self, address: str) -> Q | None:
        """Rows matching a canonical address; None when this page has no address field."""
        if not self.search_address_fields:
            return None
        condition = Q()
        for field in self.search_address_fields:
            condition |= Q(**{f"{field}__icontains": address})
        return condition

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        conditions = []
        address = normalized_search_address(search_term)
        if address:
            conditions.append(self.address_search_condition(address))
        call_id = search_call_id(search_term) if self.search_call_field else None
        if call_id is not None:
            conditions.append(Q(**{self.search_call_field: call_id}))
        conditions = [c for c in conditions if c is not None]
        if not conditions:
            return results, may_have_duplicates
        widened = Q(pk__in=results.values("pk")) | reduce(operator.or_, conditions)
        return queryset.filter(widened), may_have_duplicates
