"""What an operator sees: Prometheus metrics, structured stream logs, OpenTelemetry traces.

Below every other layer, so that each can report with one line; nothing here imports the
rest of runstream.
"""
