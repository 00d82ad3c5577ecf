"""verify: theory against trained toy models — CLI, statistics, strategies, plots."""
