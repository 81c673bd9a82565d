from django.db import models


class Deadline(models.TextChoices):
    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"


class NotificationKind(models.TextChoices):
    # The levels of the sweep, in the order a late call reaches them.
    WARNING = "warning", "Deadline near"
    BREACH = "breach", "Deadline missed"
    ESCALATION = "escalation", "Still open well after the deadline"


# Who each kind goes to: the workflow coordinator first, the workflow manager once it escalates.
COORDINATOR, MANAGER = 1, 2
LEVEL = {
    NotificationKind.WARNING: COORDINATOR,
    NotificationKind.BREACH: COORDINATOR,
    NotificationKind.ESCALATION: MANAGER,
}
