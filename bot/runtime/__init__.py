"""The processes (gateway, worker, admin CLI) and the one place that wires core and channels."""
