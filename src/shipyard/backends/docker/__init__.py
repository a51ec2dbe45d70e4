"""DOCKER serving tool: each replica a container, each environment an image.

``engine`` is the one seam to the Docker Engine API (the official ``docker`` SDK is imported
there and nowhere else of ours); ``images`` turns an environment (base image + locked
requirements) into one image per key; ``bootstrap`` makes a base image from Debian packages
when no registry is reachable; ``backend`` is the ``ReplicaBackend`` the controller drives.
"""
