"""Process control: KPIs, the SLA sweep, conformance, reports and the exports read the event log."""
