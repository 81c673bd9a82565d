"""The run-time core: calls, their clocks and deadlines. Pure Python, no Django imports."""
