"""The reconciler: turns desired deployments into running replicas through a backend."""
