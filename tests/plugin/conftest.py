"""pytest wiring for the shop_link integration tests: the fixtures of
tests/nginx (real nginx with the module: make_setup, module_so, the time
bound of every test), and the probe that drives a real shop_link."""

import importlib.util
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_TESTS = os.path.join(HERE, "..", "nginx")
sys.path.insert(0, NGINX_TESTS)

# tests/nginx/conftest.py under a name of its own: this file is the
# "conftest" module of this directory.
_spec = importlib.util.spec_from_file_location(
    "liveshop_nginx_conftest", os.path.join(NGINX_TESTS, "conftest.py"))
_nginx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nginx)

make_setup = _nginx.make_setup
module_so = _nginx.module_so
_time_bound = _nginx._time_bound

import liveshop_harness as h  # noqa: E402


@pytest.fixture(scope="session")
def probe_path():
    path = os.environ.get("SHOP_LINK_PROBE") or os.path.join(
        h.REPO, "build", "tests", "plugin", "shop_link_probe")
    return _nginx._require(path, "SHOP_LINK_PROBE", "shop_link_probe")
