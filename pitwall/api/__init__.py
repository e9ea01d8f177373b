"""The prediction API (v1), independent of any web framework.

- :mod:`.schemas`: request/response bodies (pydantic), the single description of the JSON.
- :mod:`.routes`: the operations as plain functions + the table the app and docs read.
- :mod:`.http`: one request -> one answer (keys, quotas, validation, errors).
- :mod:`.errors`: exceptions -> ``{"error": {"code", "message", "field"}}``.
- :mod:`.openapi`: the OpenAPI 3.1 document generated from the above.
- :mod:`.services`: local vs AWS wiring; :mod:`.jobs`: training-job launchers.
- :mod:`.server`: ``pitwall serve`` (the Chalice app of ``functions/api`` on a local server).
- :mod:`.marketplace`: the marketplace operations (same machinery).
"""
