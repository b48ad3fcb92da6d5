"""The vocabulary: templates, task inputs, requests and resolved sub-tasks (pydantic)."""
