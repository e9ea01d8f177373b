"""Route blueprints of the Chalice API app (packaged with ``app.py`` as Chalice expects)."""
