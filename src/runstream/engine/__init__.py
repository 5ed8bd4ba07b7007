"""The engine: apps, contexts, workflow activations, the task worker and ``Engine``."""
