"""Pitwall."""
