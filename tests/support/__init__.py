"""Helpers shared by the test suites (import as ``from tests.support.network import free_port``)."""
