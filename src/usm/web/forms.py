"""The forms of the desk, the call page and the portal. They check what a person typed and offer
only choices that exist; USM's own rules are checked by `usm.calls.services`, whose refusals the
views put back on these forms."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from usm.agreements import matrices, queries
from usm.agreements.models import Service
from usm.api.scoping import scoped
from usm.calls.choices import Channel
from usm.calls.models import CUSTOMER_CALL_TYPES
from usm.engine.classification import ContactFacts, Proposal, propose_call_type
from usm.mir.models import MirItem
from usm.model import Step, StepKind, reference_model
from usm.organisation.models import Customer, Person

MAX_VERSION = 2**31 - 1
# The channels a person at the desk takes calls from; monitoring, the API and raised calls
# arrive by themselves.
DESK_CHANNELS = [(c.value, c.label) for c in (Channel.PHONE, Channel.EMAIL, Channel.PORTAL)]
# What a requester may ask for. Whether a request alters the MIR (RFC) is the desk's judgement,
# and risks are raised from the provider side, so neither is offered here.
# The portal's wording of each call type a customer may register.
PORTAL_WORDS = {
    "incident": "Something does not work, or is about to stop working",
    "service_request": "I need something our service already covers",
    "wish": "I want something new or changed in our agreement, or have a complaint",
}
PORTAL_CALL_TYPES = [(call_type, PORTAL_WORDS[call_type]) for call_type in CUSTOMER_CALL_TYPES]
NOT_AUTHORISED = (
    "No organisation has authorised you to submit calls yet; ask your contact person or the "
    "service desk."
)
# Plain words for the default 3x3 priority matrix; larger matrices are shown by number.
IMPACT_WORDS = {1: "Many people or the whole organisation", 2: "A group or a department", 3: "Me"}
URGENCY_WORDS = {1: "Work has stopped", 2: "Work is hindered", 3: "It can wait"}


def _levels(provider_id: int, kind: str) -> tuple[list, list]:
    cells, _ = queries.matrix(provider_id, kind)
    rows, columns = matrices.size(cells)
    return list(range(1, rows + 1)), list(range(1, columns + 1))


def _numbered(levels: list[int]) -> list[tuple]:
    last = levels[-1]
    return [
        (n, f"{n} (highest)" if n == 1 else f"{n} (lowest)" if n == last else str(n))
        for n in levels
    ]


def _worded(levels: list[int], words: dict[int, str]) -> list[tuple]:
    if set(levels) != set(words):
        return _numbered(levels)
    return [(n, words[n]) for n in levels]


def put_on_form(form: forms.Form, refusal: ValidationError) -> None:
    """A refusal of the services shown where it belongs: on the field it names, else above the
    form."""
    if hasattr(refusal, "error_dict"):
        for name, messages in refusal.message_dict.items():
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in refusal.messages:
            form.add_error(None, message)


def _level_field(label: str, required: bool = False) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(coerce=int, empty_value=None, required=required, label=label)


def _row_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 2**63 - 1 else None


class VersionField(forms.IntegerField):
    """The call version the person read: a later one means someone else acted in between."""

    def __init__(self, **kwargs):
        super().__init__(
            required=False, min_value=0, max_value=MAX_VERSION, widget=forms.HiddenInput, **kwargs
        )


# -- registering at the desk --------------------------------------------------------------------
class FactsForm(forms.Form):
    """What the desk establishes about a contact; the call type follows from it (USM.md §3)."""

    failure = forms.BooleanField(
        required=False, label="An agreed service fails, or is about to fail"
    )
    within_agreement = forms.BooleanField(
        required=False,
        initial=True,
        label="What is asked is covered by the customer's agreement",
    )
    permanent_mir_effect = forms.BooleanField(
        required=False, label="It would permanently alter a registered MIR item"
    )
    provider_side = forms.BooleanField(
        required=False, label="We raise it ourselves: a threat or an opportunity"
    )

    def proposal(self) -> Proposal:
        if not self.is_bound:
            return propose_call_type(ContactFacts())
        # Read on their own, so that a mistake elsewhere in a larger form does not change the
        # proposal; ticking boxes is always valid.
        facts = FactsForm(self.data)
        facts.is_valid()
        return propose_call_type(
            ContactFacts(**{name: bool(facts.cleaned_data.get(name)) for name in facts.fields})
        )


class RegisterForm(FactsForm):
    call_type = forms.ChoiceField(
        required=False,
        label="Call type",
        help_text="Left on the proposal, the facts above decide it.",
    )
    channel = forms.ChoiceField(choices=DESK_CHANNELS, initial="phone", label="Received by")
    customer = forms.ModelChoiceField(Customer.objects.none(), required=False)
    requester = forms.ModelChoiceField(
        Person.objects.none(),
        required=False,
        help_text="Only people the customer authorises to submit calls.",
    )
    service = forms.ModelChoiceField(Service.objects.none(), required=False)
    summary = forms.CharField(max_length=300, help_text="One line: what the call is about.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    impact = _level_field("Impact")
    urgency = _level_field("Urgency")
    effect = _level_field("Effect (risks)")
    likelihood = _level_field("Likelihood (risks)")
    mir_items = forms.CharField(
        required=False,
        max_length=2000,
        label="MIR items",
        help_text="Identifiers of the items concerned, separated by commas or spaces.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        provider_id = user.person.provider_id
        model = reference_model()
        self.fields["call_type"].choices = [("", "The proposal")] + [
            (c.code, c.name) for c in model.call_types.values()
        ]
        self.fields["customer"].queryset = scoped(user, Customer.objects.filter(active=True))
        requesters = scoped(
            user, Person.objects.filter(active=True, authorisations__active=True)
        ).distinct()
        customer_id = _row_id(self.data.get("customer")) if self.is_bound else None
        if customer_id:
            requesters = requesters.filter(authorisations__customer_id=customer_id)
        self.fields["requester"].queryset = requesters.order_by("name")
        self.fields["service"].queryset = scoped(user, Service.objects.exclude(status="retired"))
        impact, urgency = _levels(provider_id, "priority")
        effect, likelihood = _levels(provider_id, "risk")
        blank = [("", "—")]
        self.fields["impact"].choices = blank + _numbered(impact)
        self.fields["urgency"].choices = blank + _numbered(urgency)
        self.fields["effect"].choices = blank + _numbered(effect)
        self.fields["likelihood"].choices = blank + _numbered(likelihood)

    def clean_mir_items(self) -> list[MirItem]:
        identifiers = [i for i in re.split(r"[\s,;]+", self.cleaned_data["mir_items"]) if i]
        if len(identifiers) > 100:
            raise ValidationError("at most 100 MIR items per call")
        found = {
            item.identifier: item
            for item in scoped(self.user, MirItem.objects.filter(identifier__in=identifiers))
        }
        unknown = [i for i in identifiers if i not in found]
        if unknown:
            raise ValidationError(f"not in the MIR: {', '.join(unknown)}")
        return [found[i] for i in dict.fromkeys(identifiers)]

    def clean(self):
        data = super().clean()
        if not data.get("call_type"):
            data["call_type"] = self.proposal().call_type
        for first, second in (("impact", "urgency"), ("effect", "likelihood")):
            if (data.get(first) is None) != (data.get(second) is None):
                missing = second if data.get(first) is not None else first
                self.add_error(missing, f"give both {first} and {second}, or neither")
        return data


# -- the portal -----------------------------------------------------------------------------------
class PortalCallForm(forms.Form):
    call_type = forms.ChoiceField(
        choices=PORTAL_CALL_TYPES, widget=forms.RadioSelect, label="What is it about?"
    )
    customer = forms.ModelChoiceField(Customer.objects.none(), required=False, label="On behalf of")
    service = forms.ModelChoiceField(Service.objects.none(), required=False, label="Service")
    summary = forms.CharField(max_length=300, label="In one line")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Details",
        help_text="What happened, since when, what you expected.",
    )
    impact = _level_field("Who is affected?", required=True)
    urgency = _level_field("How urgent is it?", required=True)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        authorisations = user.person.authorisations.filter(active=True, customer__active=True)
        self.authorisations = list(authorisations.select_related("customer"))
        customers = Customer.objects.filter(pk__in=[a.customer_id for a in self.authorisations])
        self.fields["customer"].queryset = customers
        self.fields["customer"].required = len(self.authorisations) > 1
        if len(self.authorisations) <= 1:
            self.fields["customer"].widget = forms.HiddenInput()
        self.fields["service"].queryset = self._services(user)
        impact, urgency = _levels(user.person.provider_id, "priority")
        self.fields["impact"].choices = _worded(impact, IMPACT_WORDS)
        self.fields["urgency"].choices = _worded(urgency, URGENCY_WORDS)
        self.fields["impact"].initial = impact[len(impact) // 2]
        self.fields["urgency"].initial = urgency[len(urgency) // 2]

    def _services(self, user):
        # An authorisation naming services limits the requester to them; one naming none allows
        # every live service of the provider.
        named = Service.objects.filter(requesters__in=self.authorisations).distinct()
        if named.exists():
            return named
        return scoped(user, Service.objects.filter(status="live"))

    def clean(self):
        data = super().clean()
        if not self.authorisations:
            # A call for no customer would be registered, and then hidden from its own
            # requester (they see their customers' calls only).
            raise ValidationError(NOT_AUTHORISED)
        if not data.get("customer"):
            data["customer"] = self.authorisations[0].customer
        return data


class ReplyForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, label="Your message"
    )


# -- actions on the call page --------------------------------------------------------------------
def allowed_raises(step: Step) -> set[str]:
    """Which calls completing `step` may raise: risks at every evaluate & close, and what the
    model says a step raises (Operate's execution: incidents and risks)."""
    return set(step.raises) | ({"risk"} if step.kind is StepKind.EVALUATE else set())


def _summaries(text: str) -> list[str]:
    return [line.strip()[:300] for line in text.splitlines() if line.strip()]


class CompleteForm(forms.Form):
    outcome = forms.ChoiceField(required=False, label="Outcome")
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000
    )
    raise_risks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Raise risks",
        help_text="One summary per line; each becomes a risk call.",
    )
    raise_incidents = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Raise incidents",
        help_text="One summary per line; each becomes an incident call.",
    )
    version = VersionField()

    def __init__(self, step: Step, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step
        self.fields["outcome"].choices = [("", "Done")] + [(o.code, o.name) for o in step.outcomes]
        raisable = allowed_raises(step)
        for call_type in ("risk", "incident"):
            if call_type not in raisable:
                del self.fields[f"raise_{call_type}s"]

    def clean_raise_risks(self):
        return _summaries(self.cleaned_data["raise_risks"])

    def clean_raise_incidents(self):
        return _summaries(self.cleaned_data["raise_incidents"])


class ForkForm(forms.Form):
    target = forms.ChoiceField(label="Hand over to")
    summary = forms.CharField(
        required=False,
        max_length=300,
        help_text="For the new call; left empty, it adopts this call's summary.",
    )
    version = VersionField()

    def __init__(self, step: Step, *args, **kwargs):
        super().__init__(*args, **kwargs)
        processes = reference_model().processes
        self.fields["target"].choices = [
            (code, f"{code} · {processes[code].verb} ({processes[code].name})")
            for code in step.fork_to
        ]


class VersionForm(forms.Form):
    version = VersionField()


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)
    version = VersionField()


class AbortForm(ReasonForm):
    confirm = forms.BooleanField(
        label="Yes, end every open call of this workflow as aborted",
        error_messages={"required": "tick the box to confirm the abort"},
    )


class RepeatForm(forms.Form):
    step = forms.ChoiceField(label="Go back to")
    reason = forms.CharField(max_length=300, label="What was corrected")
    version = VersionField()

    def __init__(self, steps: list[Step], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = [(s.id, f"{s.id} {s.name}") for s in steps]


class PriorityForm(forms.Form):
    impact = _level_field("Impact", required=True)
    urgency = _level_field("Urgency", required=True)
    version = VersionField()

    def __init__(self, provider_id: int, *args, **kwargs):
        super().__init__(*args, **kwargs)
        impact, urgency = _levels(provider_id, "priority")
        self.fields["impact"].choices = _numbered(impact)
        self.fields["urgency"].choices = _numbered(urgency)


class AssignForm(forms.Form):
    person = forms.ModelChoiceField(
        Person.objects.none(), required=False, empty_label="Nobody: back to the team"
    )
    version = VersionField()

    def __init__(self, people, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = people


class ReclassifyForm(forms.Form):
    call_type = forms.ChoiceField(label="New call type")
    reason = forms.CharField(max_length=300)
    version = VersionField()

    def __init__(self, current: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call_type"].choices = [
            (c.code, c.name) for c in reference_model().call_types.values() if c.code != current
        ]


class LinkForm(forms.Form):
    target = forms.CharField(max_length=20, label="Call number", help_text="e.g. INC-000042")
    kind = forms.ChoiceField(
        choices=[("related", "related to"), ("duplicate", "duplicate of")], label="This call is"
    )

    def clean_target(self):
        return self.cleaned_data["target"].strip().upper()


class NoteForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    public = forms.BooleanField(required=False, label="Visible to the requester")


class AttachForm(forms.Form):
    file = forms.FileField()
