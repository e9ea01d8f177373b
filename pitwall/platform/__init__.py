"""Tenants, API keys, tiers, quotas, model/job records and the marketplace."""
