"""Kubernetes objects for the cluster serving tools (KUBERNETES and KSERVE), as pure functions.

Shared by the dry run (the API shows the objects) and by the backends that apply them, so what a
user sees with ``--dry-run -o yaml`` is exactly what is sent. Nothing here talks to a cluster:

    naming.py      object names, labels and selectors (how every object of a deployment is found)
    inputs.py      what a rendering needs besides the spec (namespace, images, model source)
    pods.py        the runtime container, the model-fetching init container, probes, resources
    kubernetes.py  Deployment + Service (+ HorizontalPodAutoscaler) per component
    kserve.py      one InferenceService (serving.kserve.io/v1beta1) per deployment
    schemas.py     validation of every object: kubernetes-validate (strict) and the KServe CRD
"""
