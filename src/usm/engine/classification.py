"""Which call type a contact is (USM.md §3): decided by the agreement, not by the wording.

The function proposes; the desk decides, and a reclassification is recorded on the call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactFacts:
    """What the desk establishes about a contact."""

    failure: bool = False  # an agreed service fails, or is about to
    within_agreement: bool = True  # what is asked is covered by the customer's agreement
    permanent_mir_effect: bool = False  # it would permanently alter a registered MIR item
    provider_side: bool = False  # a threat or opportunity raised from the provider side


@dataclass(frozen=True)
class Proposal:
    call_type: str
    reason: str


def propose_call_type(facts: ContactFacts) -> Proposal:
    if facts.provider_side and not facts.failure:
        return Proposal("risk", "a threat or opportunity seen from the provider side")
    if facts.failure:
        return Proposal("incident", "an agreed service fails or is about to fail")
    if not facts.within_agreement:
        return Proposal("wish", "it needs the agreement to change (a new service or a complaint)")
    if facts.permanent_mir_effect:
        return Proposal("rfc", "within the agreement, and it permanently alters a registered item")
    return Proposal("service_request", "within the agreement, and it alters nothing registered")
