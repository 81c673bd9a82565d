"""What process control keeps besides the event log: how a provider escalates late calls, the
notifications the SLA sweep sent, and the sweep's watch list of open deadlines.

The KPIs keep one thing, the day tallies of the event log (`DayTally`): the counts and step lead
times of a day that has passed no longer change, and summing a row per day is what makes a long
period cheap on a large log. The events not yet tallied are read from the log itself, so the
figures never lag behind it. Conformance keeps one thing, the check of each closed workflow
(`WorkflowCheckRecord`): a closed workflow's log no longer changes in what the check replays, so
replaying it on every view of the dashboard would only repeat the same answer. Both are a
cache of the log, rebuilt from it whenever one is missing or was made by another model version,
and each has a mark (an event id) saying how far into the log it reaches, so that keeping them
up to date reads only the events written since.
"""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from usm.calls.models import Call
from usm.control.choices import Deadline, NotificationKind
from usm.organisation.models import Person, Profile, TenantModel

DEFAULT_WARNING_FRACTION = 0.75
DEFAULT_MANAGER_DELAY = timedelta(hours=4)


class EscalationPolicy(TenantModel):
    """When the sweep warns and whom it escalates to: one row for the provider as a whole
    (no agreement) and optionally one per agreement that needs its own."""

    agreement = models.ForeignKey(
        "agreements.Agreement",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Leave empty for the provider's default",
    )
    warning_fraction = models.FloatField(
        default=DEFAULT_WARNING_FRACTION,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="Warn the workflow coordinator once this share of the agreed time has run "
        "(1 = no warning before the deadline)",
    )
    manager_delay = models.DurationField(
        default=DEFAULT_MANAGER_DELAY,
        help_text="Escalate to the workflow manager when a missed deadline is still owed this "
        "long after it",
    )
    manager_profile = models.ForeignKey(
        Profile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The workflow manager profile; without one the sweep stops at the coordinator",
    )

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "agreement"],
                condition=Q(agreement__isnull=False),
                name="escalation_policy_per_agreement",
            ),
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(agreement__isnull=True),
                name="escalation_policy_default",
            ),
            models.CheckConstraint(
                condition=Q(warning_fraction__gt=0, warning_fraction__lte=1),
                name="escalation_warning_fraction",
                violation_error_message="The warning share lies between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=Q(manager_delay__gte=timedelta(0)),
                name="escalation_manager_delay",
                violation_error_message="The delay before escalating cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"Escalation for {self.agreement or 'every agreement'}"


class Notification(TenantModel):
    """One message to one person about one deadline of one call. The unique constraint is what
    makes the sweep idempotent across workers: a second sweep finds the row already there."""

    customer_path = "call__customer"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(
        Profile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The profile the recipient was notified for",
    )
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    deadline = models.CharField(max_length=12, choices=Deadline.choices)
    due = models.DateTimeField(help_text="The due time the notification is about")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the e-mail went out (empty: not yet)"
    )
    email = models.EmailField(
        blank=True, help_text="Where the e-mail went; empty when the person has no address"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "recipient", "kind", "deadline"], name="notification_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="notification_unsent",
            ),
            models.Index(fields=["provider", "created_at"], name="notification_recent"),
        ]

    def __str__(self):
        return (
            f"{self.get_kind_display()}: {self.deadline} of {self.call.number} to {self.recipient}"
        )


class DeadlineWatch(models.Model):
    """An open deadline the sweep keeps an eye on, with the instants at which it has to act.

    The warning instant is a share of the agreed *business* time, which only the agreement's
    service hours can turn into an instant; computing it once per due time, instead of for every
    open call on every sweep, is what keeps the sweep cheap with a large backlog."""

    provider_path = "call__provider"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")
    deadline = models.CharField(max_length=12, choices=Deadline.choices)
    due = models.DateTimeField(help_text="The call's due time these instants were computed for")
    warn_at = models.DateTimeField()
    escalate_at = models.DateTimeField()
    # How far the sweep got: 0 nothing yet, 1 warned, 2 breach recorded, 3 escalated. Only a
    # shortcut: the notifications and the breach events are the record.
    stage = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["call", "deadline"], name="deadline_watch_once"),
        ]
        indexes = [models.Index(fields=["warn_at"], name="deadline_watch_warn")]

    def __str__(self):
        return f"{self.deadline} of {self.call_id} due {self.due:%Y-%m-%d %H:%M}"


class WorkflowCheckRecord(models.Model):
    """The conformance check of one closed workflow (every call of it ended), as
    `usm.control.conformance.check_workflow` found it. Written the first time the workflow is
    checked; read instead of replaying its log again."""

    provider_path = "root__provider"

    root = models.OneToOneField(
        Call,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The workflow's accepting call",
    )
    checked_with = models.CharField(
        max_length=200, help_text="The process model and checker the check was made with"
    )
    result = models.JSONField(help_text="The check: deviations, repeats, calls, where it stopped")
    # What a period's rates add up, beside the check: summed in SQL, so that a long period reads
    # `result` only for the workflows it lists (deviating, with repeats, aborted).
    workflow = models.PositiveSmallIntegerField(null=True, blank=True)
    aborted = models.BooleanField(default=False)
    conforming = models.BooleanField(default=False)
    with_repeats = models.BooleanField(default=False)
    deviations = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"conformance of workflow {self.root_id}"


class DayTally(TenantModel):
    """The KPIs' counts and step lead times of one provider's event log for one UTC day, kept
    so that a period's figures sum a row per whole day instead of grouping every event of it.

    A cache of the log like the conformance checks: made by `keep_event_tallies` from the events
    up to `EventTallyMark.through`, never edited by hand, and read only together with the events
    after the mark (see `usm.control.tallies`). Both figures are kept as JSON because they are
    only ever read whole and merged in Python: `counts` is a list of
    [kind, process, step, team id, outcome, by accepting call, count], `leads` maps a step to
    the lead times (seconds) of its completions that day."""

    day = models.DateField()
    counts = models.JSONField(default=list)
    leads = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "day"], name="day_tally_once"),
        ]

    def __str__(self):
        return f"tally of {self.day}"


class ConformanceMark(models.Model):
    """How far the kept conformance checks reach in the event log: every workflow ended by an
    event with an id up to `through` has a check kept made `checked_with`, or is in `retry`.
    One row, moved by `record_workflow_checks`; a round reads only the events after it.

    An event id, not a time, because ids are what the log is committed in order of (see
    `usm.control.services._committed_through`); a workflow's last call ends by an event that has
    the workflow's root, so every ended workflow has its root among the events of some range of
    ids. A check made with another model or checker makes the mark start over from 0."""

    through = models.BigIntegerField(default=0)
    checked_with = models.CharField(max_length=200, blank=True)
    retry = models.JSONField(
        default=list,
        help_text="Accepting calls below the mark whose workflow is still to check: its replay "
        "failed, or another worker held it at the time",
    )

    def __str__(self):
        return f"workflows checked through event {self.through}"


class EventTallyMark(models.Model):
    """How far the day tallies reach: every event with an id up to `through` is counted in them,
    none after it. One row."""

    through = models.BigIntegerField(default=0)

    def __str__(self):
        return f"events tallied through {self.through}"
