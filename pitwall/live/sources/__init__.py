"""Sources of in-race state: ``openf1`` (the OpenF1 REST API) and ``replay`` (a stored race)."""
