"""The KUBERNETES serving tool: Deployments, Services and autoscalers on the user's cluster.

    client.py   the official ``kubernetes`` client, raw JSON in and out, retries on 409/429/5xx
    observe.py  pods, events and Deployments -> what the status says (pure)
    backend.py  ``KubernetesBackend``: apply, stop, delete, observe, adopt, logs

The objects themselves are rendered by :mod:`shipyard.backends.cluster` (shared with the dry
run and with KSERVE, which drives the same client).
"""
