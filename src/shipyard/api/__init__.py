"""The control-plane REST API (FastAPI), built by ``create_app`` with its collaborators."""
