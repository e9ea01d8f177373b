"""Pitwall's stacks, deployed in this order: data, tracking, serving, training, api, events."""
