"""The prediction API (v1), independent of any web framework except for the Chalice adapter.

- :mod:`.operations`: the one operation table (method, path, function, models, id, auth).
- :mod:`.routes`: the operations as plain functions (named like their operation ids);
  :mod:`.catalog`: the read-only catalogue operations.
- :mod:`.schemas`: request/response bodies (pydantic), the single description of the JSON.
- :mod:`.http`: what an operation is; one request -> one answer (keys, quotas, validation, errors).
- :mod:`.errors`: exceptions -> ``{"error": {"code", "message", "field"}}``.
- :mod:`.openapi`: renders an operation table into an OpenAPI 3.1 document.
- :mod:`.app`: the Chalice app (one route per operation, one request adapter).
- :mod:`.server`: ``pitwall serve`` (that app on a local server).
- :mod:`.services`: local vs AWS wiring; :mod:`.jobs`: training-job launchers.
"""
