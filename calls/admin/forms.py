"""The calls admin's forms: a customer, and the wrap-up of an ended call."""

from django import forms

from agents.services.wrap_up import MAX_NOTES, dispositions
from calls.models import Call, Customer
from contactcenter.admin import address_shown_as_written, dialable_form_field_clean


class CustomerForm(forms.ModelForm):
    # Shown on every desktop card of their calls: as long as an agent's notes may be.
    notes = forms.CharField(required=False, max_length=MAX_NOTES, widget=forms.Textarea)

    class Meta:
        model = Customer
        fields = ["name", "phone", "notes"]
        help_texts = {"phone": "Any format: +1 415 555 0100, 0044 20 7946 0103, sip:…"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        address_shown_as_written(self, "phone")

    def clean_phone(self) -> str:
        # Dialled by agents and matched to inbound callers: read as the dial box reads it.
        return dialable_form_field_clean(self.cleaned_data["phone"])


class CallForm(forms.ModelForm):
    """The wrap-up of an ended call; saved through the same service as the agent desktop's."""

    _pick = "Pick a disposition from the list."
    disposition = forms.ChoiceField(
        error_messages={"required": _pick, "invalid_choice": _pick},
    )
    wrap_up_notes = forms.CharField(
        label="Notes", required=False, max_length=MAX_NOTES, widget=forms.Textarea
    )

    class Meta:
        model = Call
        fields = ["disposition", "wrap_up_notes"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "disposition" in self.fields:  # read-only while the call is live
            self.fields["disposition"].choices = [("", "—"), *((d, d) for d in dispositions())]
