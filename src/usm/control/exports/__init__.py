"""Exports of the event log for process-mining tools: IEEE 1849 XES (one trace per workflow) and
OCEL 2.0 (JSON and SQLite: calls, workflows, MIR items, services, customers and teams as objects).

Every writer streams: the log is read in chunks and written as it is read, so memory stays the
same whatever the size of the log. Nothing here imports pm4py (AGPL): it only checks our files in
the tests.
"""
