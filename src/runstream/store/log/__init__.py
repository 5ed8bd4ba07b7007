"""The store's domain logic, written once for every backend.

``tx`` is the transaction surface, ``database`` the shared write path (writer thread, group
commit), the other modules the state transitions (``fn(tx, *args)``) that append seed 003's
lifecycle events with the changes they report, and ``store.LogStore`` the ``Store`` built from
them. A backend supplies a connection, its ``.sql`` files and its dialect (``Backend``).
"""
