"""The native API (SPEC §7.1, seed 003): executions under ``/api/orgs/{org}/…``."""
