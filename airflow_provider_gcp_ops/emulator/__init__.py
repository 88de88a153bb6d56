"""The Operations emulator."""
