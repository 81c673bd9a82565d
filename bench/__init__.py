"""The benchmark harness behind `usm bench`: our engine, API and queries measured side by side with
baselines taken in the same run (raw writes of the same database, django-helpdesk, SpiffWorkflow,
pgbench). See bench/README.md for the figures and docs/benchmarks.md for what each one means."""
