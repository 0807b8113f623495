"""MIRROR STAGE commands service: command queue, dispatch, results and audit history."""
