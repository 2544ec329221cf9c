// ExperimentHarness
