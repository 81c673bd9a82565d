from django.db import models

from usm.engine.call_flow import CallStatus


class Channel(models.TextChoices):
    PORTAL = "portal", "Portal"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    MONITORING = "monitoring", "Monitoring"
    API = "api", "API"
    INTERNAL = "internal", "Raised internally"


Status = models.TextChoices(
    "Status", [(s.name, (s.value, s.value.replace("_", " "))) for s in CallStatus]
)


class LinkKind(models.TextChoices):
    FORKED_INTO = "forked_into", "forked into"
    RAISED = "raised", "raised"  # a risk raised at evaluation, an incident raised by monitoring
    RELATED = "related", "related to"
    DUPLICATE = "duplicate", "duplicate of"


class EventKind(models.TextChoices):
    REGISTERED = "registered", "Registered"
    STEP_COMPLETED = "step_completed", "Step completed"
    FORKED = "forked", "Forked"
    RESUMED = "resumed", "Resumed"
    STATUS_CHANGED = "status_changed", "Status changed"
    REPEATED = "repeated", "Step repeated"
    ABORTED = "aborted", "Workflow aborted"
    HELD = "held", "Put on hold"
    RELEASED = "released", "Released from hold"
    RECLASSIFIED = "reclassified", "Reclassified"
    PRIORITY_CHANGED = "priority_changed", "Priority changed"
    ASSIGNED = "assigned", "Assigned"
    MIR_UPDATED = "mir_updated", "MIR updated"
    LINKED = "linked", "Linked"
    DEADLINE_BREACHED = "deadline_breached", "Deadline breached"
    MONITORING_REPEAT = "monitoring_repeat", "Monitoring event repeated"
