"""Wire formats: pure functions from stored events to SSE bytes, one module per API family."""
