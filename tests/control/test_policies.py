"""Escalation policies: one default and one per agreement, set through the service, and the one
the sweep applies."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from tests.control.conftest import MONDAY, register
from usm.control.models import EscalationPolicy, Notification
from usm.control.services import set_escalation_policy
from usm.control.sweep import sweep

pytestmark = pytest.mark.django_db


def test_setting_a_policy_again_replaces_it(provider, desk):
    set_escalation_policy(provider, warning_fraction=0.5)
    set_escalation_policy(provider, warning_fraction=0.9)
    set_escalation_policy(provider, agreement=desk["agreement"], warning_fraction=0.6)
    rows = EscalationPolicy.objects.all()
    assert {p.agreement_id: p.warning_fraction for p in rows} == {
        None: 0.9,
        desk["agreement"].pk: 0.6,
    }
    assert rows.count() == 2


@pytest.mark.parametrize(
    "options, field",
    [
        ({"warning_fraction": 0}, "warning_fraction"),
        ({"warning_fraction": 1.5}, "warning_fraction"),
    ],
)
def test_a_bad_policy_is_refused(provider, options, field):
    with pytest.raises(ValidationError) as refused:
        set_escalation_policy(provider, **options)
    assert field in refused.value.message_dict
    assert not EscalationPolicy.objects.exists()


def test_another_providers_profile_is_refused(provider, other_provider):
    from usm.organisation.models import Profile

    foreign = Profile.objects.create(provider=other_provider, name="Their manager")
    with pytest.raises(ValidationError) as refused:
        set_escalation_policy(provider, manager_profile=foreign)
    assert "manager_profile" in refused.value.message_dict


def test_the_agreements_policy_wins_over_the_default(provider, desk, staff):
    # Default: warn only at the deadline; the SA: warn at a quarter of the agreed time.
    set_escalation_policy(provider, warning_fraction=1.0, manager_delay=timedelta(hours=1))
    set_escalation_policy(provider, agreement=desk["agreement"], warning_fraction=0.25)
    register(desk, staff, "incident", MONDAY)  # respond within the hour
    assert sweep(MONDAY + timedelta(minutes=16)).notifications == 1
    assert Notification.objects.get().kind == "warning"


def test_the_admin_sets_a_policy_through_the_service(admin_client, provider, desk):
    assert admin_client.get("/admin/control/escalationpolicy/add/").status_code == 200
    response = admin_client.post(
        "/admin/control/escalationpolicy/add/",
        {
            "provider": provider.pk,
            "agreement": desk["agreement"].pk,
            "warning_fraction": "0.5",
            "manager_delay": "02:00:00",
            "manager_profile": desk["profile"].pk,
        },
    )
    assert response.status_code == 302, response.content
    policy = EscalationPolicy.objects.get()
    assert (policy.agreement, policy.manager_delay) == (desk["agreement"], timedelta(hours=2))
    assert admin_client.get("/admin/control/notification/").status_code == 200
