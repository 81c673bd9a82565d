"""The call register: one table for wishes, RFCs, incidents, service requests and risks, the links
between calls, and the append-only event log every report and export reads."""

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from usm.agreements.choices import CallType
from usm.calls.append_only_id import AppendOnlyId
from usm.calls.choices import Channel, EventKind, LinkKind, Status
from usm.organisation.models import Customer, Person, Profile, Team, TenantModel

# Statuses without work for the desk: ended calls, and callers waiting for a forked process.
QUEUE_EXCLUDES = ("closed", "aborted", "waiting")
PREFIX = {"wish": "CTM", "rfc": "CHM", "incident": "INC", "service_request": "OPS", "risk": "IMP"}
# What a customer's user may register (the portal, the API): what is wrong or wanted. Whether it
# needs a change (RFC) is the desk's call, and risks are the provider's to raise.
CUSTOMER_CALL_TYPES = ("incident", "service_request", "wish")


class Call(TenantModel):
    customer_path = "customer"
    # Of their customers' calls, a customer's user follows those their organisation put in: the
    # calls the provider forks (the change behind an incident) or raises for itself (risks) are
    # its own work, and so is everything reached through them: their notes, pauses, files,
    # notifications, and the staff and teams working them (usm.api.scoping).
    shown_to_customers = Q(accepting=True) & ~Q(call_type="risk")

    # Calls are never deleted (their events keep them): numbered without SQLite's sequence table.
    id = AppendOnlyId(primary_key=True)
    number = models.CharField(max_length=20, help_text="Tracking number, e.g. INC-000123")
    call_type = models.CharField(max_length=20, choices=CallType.choices)
    process = models.CharField(max_length=5, help_text="The model process the call walks")
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.PORTAL)
    requester = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="calls_requested"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    service = models.ForeignKey(
        "agreements.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    agreement = models.ForeignKey(
        "agreements.Agreement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="calls",
        help_text="The agreement whose norms set the deadlines",
    )
    mir_items = models.ManyToManyField("mir.MirItem", blank=True, related_name="calls")
    summary = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True)
    impact = models.PositiveSmallIntegerField(null=True, blank=True)
    urgency = models.PositiveSmallIntegerField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(null=True, blank=True)
    effect = models.PositiveSmallIntegerField(null=True, blank=True)
    likelihood = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_level = models.PositiveSmallIntegerField(null=True, blank=True)

    # The engine's state (usm.engine.call_flow.CallState), stored flat.
    status = models.CharField(max_length=20, choices=Status.choices, default="open")
    step = models.CharField(max_length=20, null=True, blank=True, help_text="The step to do next")
    accepting = models.BooleanField(default=True, help_text="Accepted the workflow (not forked)")
    waiting_for = models.CharField(max_length=5, blank=True)
    held_status = models.CharField(max_length=20, blank=True)
    attempts = models.JSONField(default=dict, blank=True)
    marks = models.JSONField(default=list, blank=True)

    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="forks",
        help_text="The call that forked this one",
    )
    root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        db_index=False,  # call_root below
        related_name="workflow_calls",
        help_text="The call that accepted the workflow (itself for a root)",
    )
    workflow = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Workflow template 1-8, once the path fixes it"
    )

    assignee_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    assignee = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls_assigned"
    )
    # The profiles change at every handover, and nothing reads calls by profile but deleting
    # one (rare: a profile is retired by leaving it unused): no index to keep up at each step.
    responsible_profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    accountable_profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    response_due = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # MIR changes recorded during the change, applied by CHM's Update MIR step (and only there).
    mir_changes = models.JSONField(default=list, blank=True)

    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    external_ref = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        help_text="Monitoring key used to de-duplicate events",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by the services (not auto_now) so that a simulated day can be replayed with its own clock.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    # Kept by the database from the status: 1 when the desk has work on the call, else 0. A number,
    # not a boolean: Django writes a true boolean test as a bare column, which SQLite cannot match
    # to an index; `to_do = 1` it can.
    to_do = models.GeneratedField(
        expression=Case(When(status__in=QUEUE_EXCLUDES, then=Value(0)), default=Value(1)),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "number"], name="call_number_unique"),
            models.UniqueConstraint(
                fields=["provider", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="call_idempotency_key_unique",
            ),
        ]
        indexes = [
            # The desk queue: the calls of a team with work to do, by deadline. `to_do` leads to
            # them by equality, so the queue reads its own few thousand entries however many ended
            # calls the register holds (a NOT IN on status can use no index range).
            models.Index(
                fields=["provider", "assignee_team", "to_do", "resolution_due", "id"],
                name="call_todo_team_queue",
            ),
            models.Index(
                fields=["provider", "to_do", "resolution_due", "id"], name="call_todo_by_due"
            ),
            models.Index(fields=["provider", "process", "created_at"], name="call_process_time"),
            # Process control reads a period's calls by when they were registered, ended or due,
            # and the backlog by when it ended (NULL: still open): each a range of one of these.
            # The intake's columns ride along in the registration index, so the KPIs count a
            # period's intake from the index alone, not a table row per call (at 1M calls, 37k
            # rows a month scattered over the table). None of them moves with a step: `workflow`
            # is set by a root's first fork, `process` and `workflow` by a reclassification.
            models.Index(
                fields=[
                    "provider",
                    "created_at",
                    "process",
                    "service",
                    "customer",
                    "accepting",
                    "workflow",
                ],
                name="call_registered_cover",
            ),
            models.Index(fields=["provider", "closed_at"], name="call_ended_time"),
            models.Index(fields=["provider", "response_due"], name="call_response_due"),
            models.Index(fields=["provider", "resolution_due"], name="call_resolution_due"),
            models.Index(fields=["provider", "external_ref"], name="call_external_ref"),
            models.Index(fields=["root"], name="call_root"),
        ]

    def __str__(self):
        return f"{self.number} {self.summary}"

    def process_chain(self) -> tuple[str, ...]:
        """The processes entered from the workflow's accepting call down to this one."""
        processes, call = [self.process], self
        while call.parent_id:
            call = call.parent
            processes.insert(0, call.process)
        return tuple(processes)


class CallCounter(TenantModel):
    """The last tracking number given per provider and prefix."""

    prefix = models.CharField(max_length=5)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "prefix"], name="counter_once")]


class CallLink(models.Model):
    provider_path = "source__provider"
    # A link ties a call to others, often other customers' (one cause behind many incidents):
    # the desk's knowledge, which the portal does not show either.
    staff_only = True

    source = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="links_out")
    kind = models.CharField(max_length=12, choices=LinkKind.choices)
    target = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="links_in")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "target"], name="call_link_once"),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="call_link_not_self"
            ),
        ]


class CallPause(models.Model):
    """A stretch of waiting on the requester; the SLA clock does not run inside it."""

    provider_path = "call__provider"
    # The portal tells the requester what the desk waits on them for.
    customer_path = "call__customer"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="pauses")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["started_at"]


class CallNote(models.Model):
    provider_path = "call__provider"
    customer_path = "call__customer"
    # An internal note is the desk talking to itself; the requester reads the public ones only.
    shown_to_customers = Q(internal=False)

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    internal = models.BooleanField(default=False, help_text="Hidden from the requester")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]


class CallAttachment(models.Model):
    provider_path = "call__provider"
    customer_path = "call__customer"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)


class AppendOnly(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("the event log is append-only")

    def delete(self):
        raise PermissionError("the event log is append-only")


class CallEvent(TenantModel):
    """One executed step or state change: the single source for KPIs, conformance and the
    process-mining exports. Rows are only ever added."""

    # Who did what, under which profile, with which internal remarks: the provider's record of its
    # own work, shown on the desk and never in the portal.
    staff_only = True

    # Every step writes a row here and none is ever deleted: see AppendOnlyId.
    id = AppendOnlyId(primary_key=True)
    # Every step writes a row here, and each index the row goes into costs the step's commit
    # another page: only the indexes reads need are kept. The log is read by call, by workflow,
    # by provider with a time range (and a kind), and in time order. Deleting a login, profile
    # or team scans the log for their events, which the PROTECT that keeps their history needs
    # and a provider does rarely.
    provider = models.ForeignKey(
        "organisation.Provider", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="events")
    root = models.ForeignKey(
        Call,
        on_delete=models.PROTECT,
        db_index=False,
        related_name="+",
        help_text="The call that accepted the workflow",
    )
    process = models.CharField(max_length=5)
    step = models.CharField(max_length=20, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    workflow = models.PositiveSmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    outcome = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, blank=True)
    detail = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    profile = models.ForeignKey(
        Profile, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Exports walk a provider's whole log in time order down this index (see
    # usm.control.exports.selection); the composite ones below serve ranges.
    at = models.DateTimeField(db_index=True)

    objects = AppendOnly.as_manager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # A step attempt executes once: a second completion of the same attempt is a race lost.
            models.UniqueConstraint(
                fields=["call", "step", "attempt"],
                condition=Q(kind="step_completed"),
                name="step_attempt_once",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "at"], name="event_provider_time"),
            models.Index(fields=["root", "at"], name="event_workflow_time"),
            # Process control reads one kind of event of a period (breaches, forks, step
            # completions): a range of this instead of every event of the period.
            models.Index(fields=["provider", "kind", "at"], name="event_kind_time"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("the event log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the event log is append-only")
