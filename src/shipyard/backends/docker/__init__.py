"""DOCKER serving tool: each replica a container, each environment an image.

``engine`` is the one seam to the Docker Engine API (typed requests and observations), ``sdk``
implements it with the official ``docker`` SDK (imported there and nowhere else of ours);
``images`` turns an environment (base image + locked requirements) into one image per key;
``recipes`` says which image a replica needs; ``bootstrap`` makes a base image from Debian
packages when no registry is reachable; ``backend`` is the ``ReplicaBackend`` the controller
drives.
"""
