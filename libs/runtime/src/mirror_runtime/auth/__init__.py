"""Operators' logins, sessions and API tokens for every service's HTTP API.

Accounts live in PostgreSQL (component ``auth``). A service with the database checks
credentials there and answers ``auth.api.*`` for the ones without it; those (the twin) ask over
the bus. The HTTP side is one ASGI middleware and four routes, installed by the runtime.
"""
