"""The WHO of service management: the provider, its customers and their requesters, units, teams,
people, profiles, and the procedures that give each step of a workflow its RACI.

Every row belongs to one provider (the tenant); the scoping rule reads and lists by it.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from usm.model import reference_model
from usm.organisation.choices import CustomerKind, Responsibility, TeamKind


def _check_same_provider(instance, *fields: str) -> None:
    """Every row points only at rows of its own provider: one tenant's procedure must never name
    another tenant's profile, nor a requester another tenant's customer."""
    provider_id = instance.provider_id
    if provider_id is None:
        return
    errors = {}
    for name in fields:
        if getattr(instance, f"{name}_id") is None:
            continue
        if getattr(instance, name).provider_id != provider_id:
            errors[name] = "belongs to another provider"
    if errors:
        raise ValidationError(errors)


def _check_model_step(step_id: str) -> None:
    try:
        reference_model().step(step_id)
    except KeyError:
        raise ValidationError({"step": f"'{step_id}' is not a step of the process model"}) from None


class Provider(models.Model):
    """The service organisation running this installation (the tenant)."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    # Tracking numbers are per provider (INC-000123); the prefix keeps them apart across tenants.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TenantModel(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class OrganisationUnit(TenantModel):
    # The provider's own structure, not the customers' business (usm.api.scoping).
    staff_only = True

    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="unit_name_unique")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        _check_same_provider(self, "parent")
        ancestor, seen = self.parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if self.pk is not None and ancestor.pk == self.pk:
                raise ValidationError({"parent": "would make the unit part of itself"})
            seen.add(ancestor.pk)
            ancestor = ancestor.parent


class Customer(TenantModel):
    # A customer's user sees the customers that authorise them, and no other (usm.api.scoping).
    customer_path = "pk"

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=10, choices=CustomerKind.choices, default=CustomerKind.EXTERNAL
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="customer_code_unique")
        ]

    def __str__(self):
        return self.name


class Person(TenantModel):
    """Anyone the provider deals with: its own staff and the customers' users. A person may log in
    through the linked user account."""

    # A customer's user sees themselves, the people their customers authorise or name on a call,
    # and the staff working on the calls they follow: the one assigned, and the members of the
    # team the call is with. Not the rest of the staff (those on the risks and forks the provider
    # keeps to itself included), nor other customers' people (usm.api.scoping). The last three
    # paths run through the calls app's relations, where Call.shown_to_customers applies.
    customer_path = (
        "authorisations__customer",
        "calls_requested__customer",
        "calls_assigned__customer",
        "teams__calls__customer",
    )
    user_path = "user"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    unit = models.ForeignKey(
        OrganisationUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self):
        return self.name

    def clean(self):
        _check_same_provider(self, "unit")


class Requester(TenantModel):
    """A person a customer authorises to submit calls, for the services listed."""

    customer_path = "customer"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="authorisations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="requesters")
    services = models.ManyToManyField("agreements.Service", blank=True, related_name="requesters")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["customer__name", "person__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "customer"], name="requester_once_per_customer"
            )
        ]

    def __str__(self):
        return f"{self.person} for {self.customer}"

    def clean(self):
        _check_same_provider(self, "person", "customer")


class Team(TenantModel):
    # A customer's user sees the teams the calls they follow are with (usm.api.scoping).
    customer_path = "calls__customer"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=TeamKind.choices, default=TeamKind.INTERNAL)
    unit = models.ForeignKey(
        OrganisationUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams"
    )
    email = models.EmailField(blank=True)
    members = models.ManyToManyField(Person, blank=True, related_name="teams")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="team_name_unique")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        _check_same_provider(self, "unit")


class Profile(TenantModel):
    """A role or position (USM's word), tied to a unit and held by people. Reorganising means
    changing who holds which profile; procedures name profiles, never people."""

    # Roles and the RACI are how the provider organises itself (usm.api.scoping).
    staff_only = True

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    unit = models.ForeignKey(
        OrganisationUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="profiles"
    )
    holders = models.ManyToManyField(Person, blank=True, related_name="profiles")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="profile_name_unique")
        ]

    def __str__(self):
        return self.name

    def clean(self):
        _check_same_provider(self, "unit", "team")


class Procedure(TenantModel):
    """The WHO for one workflow template: per step, which profiles are Responsible, Accountable,
    Consulted or Informed."""

    staff_only = True

    workflow = models.PositiveSmallIntegerField(help_text="Workflow template number (1-8)")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workflow", "name"]
        constraints = [
            # One procedure in force per workflow; older versions stay for the record.
            models.UniqueConstraint(
                fields=["provider", "workflow"],
                condition=Q(active=True),
                name="one_active_procedure_per_workflow",
            ),
            # History is read by version number; two rows with the same number would blur it.
            models.UniqueConstraint(
                fields=["provider", "workflow", "version"], name="procedure_version_once"
            ),
        ]

    def __str__(self):
        return f"WF{self.workflow} {self.name} v{self.version}"

    def clean(self):
        if self.workflow is None:
            return
        try:
            reference_model().workflow(self.workflow)
        except KeyError:
            numbers = ", ".join(str(w.number) for w in reference_model().workflows)
            raise ValidationError(
                {"workflow": f"there is no workflow {self.workflow}; the model has {numbers}"}
            ) from None


class StepResponsibility(models.Model):
    provider_path = "procedure__provider"
    staff_only = True

    procedure = models.ForeignKey(
        Procedure, on_delete=models.CASCADE, related_name="responsibilities"
    )
    step = models.CharField(max_length=20, help_text="Step id of the model, e.g. CHM-3")
    profile = models.ForeignKey(Profile, on_delete=models.PROTECT, related_name="responsibilities")
    role = models.CharField(max_length=1, choices=Responsibility.choices)

    class Meta:
        ordering = ["procedure", "step", "role"]
        verbose_name_plural = "step responsibilities"
        constraints = [
            models.UniqueConstraint(
                fields=["procedure", "step", "profile", "role"], name="responsibility_once"
            ),
            # The database keeps a second Accountable out even if a caller skips the service.
            models.UniqueConstraint(
                fields=["procedure", "step"], condition=Q(role="A"), name="one_accountable_per_step"
            ),
        ]

    def __str__(self):
        return f"{self.step} {self.role} {self.profile}"

    def clean(self):
        if (
            self.profile_id
            and self.procedure_id
            and (self.profile.provider_id != self.procedure.provider_id)
        ):
            raise ValidationError({"profile": "belongs to another provider"})
        if self.step:
            _check_model_step(self.step)


class WorkInstruction(TenantModel):
    """The HOW of one step for one service: text and links for whoever does the work."""

    # For the provider's people doing the work; it may name internal systems (usm.api.scoping).
    staff_only = True

    service = models.ForeignKey(
        "agreements.Service", on_delete=models.CASCADE, related_name="work_instructions"
    )
    step = models.CharField(max_length=20, help_text="Step id of the model, e.g. OPS-4")
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "step"], name="one_instruction_per_service_step"
            )
        ]

    def __str__(self):
        return f"{self.service} {self.step}: {self.title}"

    def clean(self):
        _check_same_provider(self, "service")
        if self.step:
            _check_model_step(self.step)
