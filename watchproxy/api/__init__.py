"""The Kubernetes REST surface: plain ASGI for list/watch/get/writes, FastAPI for ops endpoints."""
