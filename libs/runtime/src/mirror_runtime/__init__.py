"""Shared runtime of the MIRROR STAGE services: configuration, logging, health, serving."""
