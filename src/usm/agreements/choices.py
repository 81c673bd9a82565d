from django.db import models


class AgreementKind(models.TextChoices):
    SA = "SA", "Service agreement (customer)"
    OLA = "OLA", "Operational level agreement (internal team)"
    UC = "UC", "Underpinning contract (supplier)"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class ServiceStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    LIVE = "live", "Live"
    RETIRED = "retired", "Retired"


class CallType(models.TextChoices):
    # The five call types of the model (usm.model data), one per process.
    WISH = "wish", "Wish"
    RFC = "rfc", "Request for change"
    INCIDENT = "incident", "Incident"
    SERVICE_REQUEST = "service_request", "Service request"
    RISK = "risk", "Risk"


class TimeBasis(models.TextChoices):
    BUSINESS = "business", "Business time (service hours)"
    CALENDAR = "calendar", "Calendar time (24x7)"


class TargetUnit(models.TextChoices):
    MINUTES = "minutes", "Minutes"
    HOURS = "hours", "Hours"
    DAYS = "days", "Days"


class MatrixKind(models.TextChoices):
    PRIORITY = "priority", "Priority (impact x urgency)"
    RISK = "risk", "Risk level (effect x likelihood)"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"
