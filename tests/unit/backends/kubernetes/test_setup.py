"""The composition of the cluster tools from the settings."""

from __future__ import annotations

import stat

import pytest

from shipyard.backends.kubernetes_images import RegistryImages
from shipyard.backends.kubernetes_setup import (
    cluster_backends,
    model_token_signer,
    runtime_images,
)
from shipyard.errors import ShipyardError
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import ServingTool


def test_the_token_key_is_made_once_private_and_kept_across_restarts(tmp_path):
    settings = ServerSettings(home=tmp_path)
    token = model_token_signer(settings).mint("p", "iris", 1)
    key = tmp_path / "model-token-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert model_token_signer(settings).verify(token) is not None  # a restarted server


def test_no_cluster_tools_without_the_shipyard_url(tmp_path):
    settings = ServerSettings(home=tmp_path)
    assert cluster_backends(settings, model_token_signer(settings), lambda _: "p") == {}


def test_a_kubeconfig_that_cannot_be_read_names_the_settings(tmp_path):
    settings = ServerSettings(
        home=tmp_path,
        kube_shipyard_url="http://shipyard:8470",
        kube_config=tmp_path / "missing",
        kube_runtime_image="img",
    )
    with pytest.raises(ShipyardError, match="SHIPYARD_KUBE_CONFIG"):
        cluster_backends(settings, model_token_signer(settings), lambda _: "p")


def test_both_tools_with_a_kubeconfig(tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]\n'
        'users: [{name: u, user: {token: "t"}}]\n'
        "contexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    settings = ServerSettings(
        home=tmp_path, kube_shipyard_url="http://shipyard:8470", kube_config=config
    )
    with pytest.raises(ShipyardError, match="SHIPYARD_KUBE_RUNTIME_IMAGE"):
        cluster_backends(settings, model_token_signer(settings), lambda _: "p")
    settings = settings.model_copy(update={"kube_runtime_image": "img"})
    tools = cluster_backends(settings, model_token_signer(settings), lambda _: "p")
    assert set(tools) == {ServingTool.KUBERNETES, ServingTool.KSERVE}


def test_a_registry_makes_images_per_environment(tmp_path):
    settings = ServerSettings(home=tmp_path, image_registry="registry.example.com:5000")
    images = runtime_images(settings)
    assert isinstance(images, RegistryImages)  # the Docker engine is contacted only to build
    images.close()
