"""Integrations with other tools (MLflow). Each imports its client library lazily."""
