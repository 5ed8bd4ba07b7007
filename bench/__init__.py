"""runstream's benchmarks: a real ``runstream serve`` on 127.0.0.1 driven by raw clients.

See ``bench/README.md``. ``bench/run.py`` runs the scenarios, ``bench/compare_peers.py``
puts runstream side by side with Temporal and DBOS (``bench/peers/``).
"""
