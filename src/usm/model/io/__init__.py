"""Exchange formats of the process model: USM-WIF, BPMN 2.0 and diagrams."""
