"""Services and the agreements that promise them: the catalogue, SA/OLA/UC with validity,
service hours (calendars) and norms per call type and priority, and the priority and risk
matrices the desk classifies with."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from usm.agreements.choices import (
    AgreementKind,
    AgreementStatus,
    CallType,
    MatrixKind,
    ServiceStatus,
    TargetUnit,
    TimeBasis,
    Weekday,
)
from usm.organisation.models import Customer, Team, TenantModel


class Service(TenantModel):
    """A facility (goods and/or actions) plus the support for using it, each specified by what it
    does (functionality) and how well (functioning)."""

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    facility = models.TextField(help_text="What the customer gets: goods and/or actions")
    support = models.TextField(blank=True, help_text="The support for using the facility")
    functionality = models.TextField(blank=True, help_text="What the service does")
    functioning = models.TextField(blank=True, help_text="How well: the quality levels offered")
    in_catalogue = models.BooleanField(default=True, help_text="Offered in the service catalogue")
    status = models.CharField(
        max_length=10, choices=ServiceStatus.choices, default=ServiceStatus.LIVE
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="service_code_unique")
        ]

    def __str__(self):
        return self.name


class Calendar(TenantModel):
    """Service hours: weekly opening intervals in a time zone, holidays and date exceptions."""

    # A customer's user sees the service hours of their customers' SAs; those behind OLAs and UCs
    # only are the provider's internal arrangements.
    customer_path = "agreements__customer"

    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC")
    always_open = models.BooleanField(default=False, help_text="24x7: the weekly hours are ignored")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "name"], name="calendar_name_unique")
        ]

    def __str__(self):
        return self.name


class OpeningHours(models.Model):
    provider_path = "calendar__provider"
    customer_path = "calendar__agreements__customer"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField(help_text="00:00 means midnight at the end of the day")

    class Meta:
        ordering = ["calendar", "weekday", "opens"]
        verbose_name_plural = "opening hours"

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    provider_path = "calendar__provider"
    customer_path = "calendar__agreements__customer"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once")]

    def __str__(self):
        return f"{self.date} {self.name}".strip()


class CalendarException(models.Model):
    """Opening hours for one date that replace the week's (a Saturday opening, a short day)."""

    provider_path = "calendar__provider"
    customer_path = "calendar__agreements__customer"

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    opens = models.TimeField()
    closes = models.TimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["calendar", "date", "opens"]

    def __str__(self):
        return f"{self.date} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Agreement(TenantModel):
    """An SA with a customer, an OLA with an internal team, or a UC with a supplier."""

    # A customer's user sees their customers' SAs; OLAs and UCs have no customer, and are the
    # provider's internal arrangements.
    customer_path = "customer"

    kind = models.CharField(max_length=3, choices=AgreementKind.choices)
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="agreements"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="agreements"
    )
    services = models.ManyToManyField(Service, blank=True, related_name="agreements")
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="agreements")
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AgreementStatus.choices, default=AgreementStatus.ACTIVE
    )
    # Optimistic locking: an update names the version it read; a stale one gets a 409.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "code"], name="agreement_code_unique"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="agreement_valid_period",
                violation_error_message="The agreement ends before it starts.",
            ),
            # The other party decides the kind: a customer for an SA, a team for an OLA or UC.
            models.CheckConstraint(
                condition=(
                    Q(kind="SA", customer__isnull=False, team__isnull=True)
                    | Q(kind__in=["OLA", "UC"], customer__isnull=True, team__isnull=False)
                ),
                name="agreement_party_matches_kind",
                violation_error_message=(
                    "An SA is made with a customer (and no team), an OLA or UC with a team "
                    "(and no customer)."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.name}"

    def clean(self):
        errors = {}
        if self.kind == AgreementKind.SA and not self.customer_id:
            errors["customer"] = "a service agreement is made with a customer"
        if self.kind in (AgreementKind.OLA, AgreementKind.UC):
            if not self.team_id:
                errors["team"] = f"an {self.kind} is made with a team"
            elif self.kind == AgreementKind.UC and self.team.kind != "supplier":
                errors["team"] = "an underpinning contract is made with an external supplier"
            elif self.kind == AgreementKind.OLA and self.team.kind != "internal":
                errors["team"] = "an OLA is made with an internal solution team"
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            errors["valid_until"] = "ends before it starts"
        if errors:
            raise ValidationError(errors)


class Norm(models.Model):
    """The response and resolution targets an agreement sets for one call type and priority."""

    provider_path = "agreement__provider"
    customer_path = "agreement__customer"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="norms")
    call_type = models.CharField(max_length=20, choices=CallType.choices)
    priority = models.PositiveSmallIntegerField(help_text="1 is the highest")
    response = models.PositiveIntegerField(help_text="Response target, in `unit`")
    resolution = models.PositiveIntegerField(help_text="Resolution target, in `unit`")
    unit = models.CharField(max_length=10, choices=TargetUnit.choices, default=TargetUnit.HOURS)
    basis = models.CharField(max_length=10, choices=TimeBasis.choices, default=TimeBasis.BUSINESS)

    class Meta:
        ordering = ["agreement", "call_type", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "call_type", "priority"], name="norm_once"
            ),
            models.CheckConstraint(
                condition=Q(resolution__gte=models.F("response")),
                name="norm_resolution_after_response",
                violation_error_message="The resolution target cannot be shorter than the response target.",
            ),
        ]

    def __str__(self):
        return f"{self.agreement.code} {self.call_type} P{self.priority}"


class MatrixCell(TenantModel):
    """One cell of the priority matrix (impact x urgency) or the risk matrix (effect x
    likelihood). Levels are 1 (highest) to n; the result is a priority or a risk level."""

    matrix = models.CharField(max_length=10, choices=MatrixKind.choices)
    row = models.PositiveSmallIntegerField(help_text="Impact or effect level, 1 = highest")
    column = models.PositiveSmallIntegerField(help_text="Urgency or likelihood level, 1 = highest")
    result = models.PositiveSmallIntegerField(help_text="Priority or risk level, 1 = highest")

    class Meta:
        ordering = ["matrix", "row", "column"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "matrix", "row", "column"], name="matrix_cell_once"
            )
        ]

    def __str__(self):
        return f"{self.matrix} {self.row}x{self.column} -> {self.result}"


class ConfigurationStamp(models.Model):
    """One row whose value changes with every write to the tables the call engine reads its
    configuration from (agreements, norms, calendars, matrices, procedures and profiles): database
    triggers replace it, whatever did the write. `usm.agreements.configuration` keys its cache by
    it. A random value, not a counter: a rolled-back change takes a counter back to a value
    already seen with other rows."""

    value = models.BigIntegerField()

    class Meta:
        db_table = "usm_configuration_stamp"
