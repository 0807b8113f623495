"""mirror-stage: the whole stack on one machine, and the test harness's servers."""
