// ReplayWorker
