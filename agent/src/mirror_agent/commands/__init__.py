"""The agent's command loop: policy, journal, executor, and the consumer that ties them."""
