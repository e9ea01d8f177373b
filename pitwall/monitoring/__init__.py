"""Model monitoring: data capture, drift, the live race-by-race track record, alerts.

- :mod:`pitwall.monitoring.settings`: per-deployment capture rate and alert thresholds;
- :mod:`pitwall.monitoring.capture`: captured requests (local parquet; S3 in ``capture_aws``),
  and :class:`~pitwall.monitoring.capture.CapturingServing`, the serving wrapper;
- :mod:`pitwall.monitoring.drift`: PSI / KS / missing rate vs the training window, JSON + PNG;
- :mod:`pitwall.monitoring.record`: live verified (and, separately, reconstructed) race scores;
- :mod:`pitwall.monitoring.alerts`: threshold rules, local log + subscribers, EventBridge;
- :mod:`pitwall.monitoring.subscriber`: what runs after ``RaceIngested``.

Nothing here is imported by ``import pitwall``; submodules import pandas lazily where they can.
"""
