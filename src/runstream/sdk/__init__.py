"""What user code is written against: the ``App`` registry and the contexts handed to
workflow and task code (agents and Claude Code tasks live here too)."""
