"""The order the test files start in under `make test`."""

# The files that take longest under `make test`, longest first: they start first (the Makefile
# runs pytest-xdist with --no-loadscope-reorder, which keeps this order), so that none of them
# begins near the end and keeps one worker busy while the others stand idle. Only the order
# comes from here: a file missing from it runs all the same, after these.
LONGEST_FIRST = (
    "e2e/test_compose_up.py",  # builds its images first; on a new machine its base images too
    "e2e/test_faults.py",
    "e2e/test_faults_postgres.py",
    "e2e/test_hud.py",
    "integration/test_commands_service.py",
    "integration/test_auth_accounts.py",
    "integration/test_http_boundaries.py",
    "integration/test_http_auth.py",
    "e2e/test_stack_security.py",
    "e2e/test_hostile_probes.py",
    "integration/test_twin_websocket.py",
    "e2e/test_launcher.py",
    "e2e/test_cluster.py",
)
