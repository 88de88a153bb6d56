"""pytest plugin: the ``gcp_ops_emulator`` fixture (filled in with the emulator)."""
