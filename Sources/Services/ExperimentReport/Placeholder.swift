// ExperimentReport
