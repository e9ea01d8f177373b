"""Entry points of the cloud feature job (the same code ``pitwall features build`` runs)."""
