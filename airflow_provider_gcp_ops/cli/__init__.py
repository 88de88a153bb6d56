"""``gcp-operations``: list, inspect, cancel, delete and wait for Google Cloud long-running operations.

A console script for the engineer at a terminal: it uses only the pure library (``operations/``), never Airflow,
so it starts fast. ``main.py`` parses and dispatches, ``output.py`` renders, ``waiting.py`` is the live ``wait``.
"""
