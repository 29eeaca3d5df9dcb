"""pytest wiring for the OBS plugin tests: the nginx harness and its
fixtures (tests/nginx), an Xvfb display, and the plugin's build products."""

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_TESTS = os.path.join(HERE, "..", "nginx")
sys.path.insert(0, NGINX_TESTS)

import liveshop_harness as h  # noqa: E402

# tests/nginx/conftest.py under another name (this file is "conftest").
_spec = importlib.util.spec_from_file_location(
    "liveshop_nginx_conftest", os.path.join(NGINX_TESTS, "conftest.py"))
_nginx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nginx)

make_setup = _nginx.make_setup
module_so = _nginx.module_so
_time_bound = _nginx._time_bound

XVFB = "/usr/bin/Xvfb"


def _require(env, what):
    """A build product named by ctest's environment: missing fails."""
    path = os.environ.get(env)
    if not path:
        pytest.skip("%s not set: run through ctest (%s)" % (env, what))
    if not os.path.exists(path):
        pytest.fail("%s=%s does not exist (%s)" % (env, path, what))
    return path


@pytest.fixture(scope="session")
def plugin_so():
    return _require("LIVE_SHOP_PLUGIN", "live-shop.so")


@pytest.fixture(scope="session")
def plugin_data():
    return _require("LIVE_SHOP_PLUGIN_DATA", "obs-plugin/data")


@pytest.fixture(scope="session")
def overlay_test():
    return _require("LIVE_SHOP_OVERLAY_TEST", "obs_overlay_test")


def _free_display():
    for n in range(90, 200):
        if not os.path.exists("/tmp/.X11-unix/X%d" % n) and \
                not os.path.exists("/tmp/.X%d-lock" % n):
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="session")
def xvfb():
    """An Xvfb display of our own (1600x1000x24, GLX for llvmpipe);
    yields the DISPLAY string."""
    if not os.path.exists(XVFB):
        pytest.fail("Xvfb is missing: scripts/setup-deps.sh installs xvfb")
    n = _free_display()
    proc = subprocess.Popen(
        [XVFB, ":%d" % n, "-screen", "0", "1600x1000x24", "-nolisten",
         "tcp", "+extension", "GLX", "-noreset"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        h.wait_for(lambda: os.path.exists("/tmp/.X11-unix/X%d" % n)
                   or proc.poll() is not None, 10, 0.05, "Xvfb :%d" % n)
        if proc.poll() is not None:
            pytest.fail("Xvfb :%d exited with %s" % (n, proc.returncode))
        yield ":%d" % n
    finally:
        h.kill_proc(proc)


def x_env(display, home=None):
    env = dict(os.environ)
    env["DISPLAY"] = display
    env["LIBGL_ALWAYS_SOFTWARE"] = "1"
    env["GALLIUM_DRIVER"] = "llvmpipe"
    env.pop("WAYLAND_DISPLAY", None)
    env["QT_QPA_PLATFORM"] = "xcb"
    if home:
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
    return env


SPONSORED = h.offer("sku-1", title="Vitamin C Serum 30 ml",
                    price="19.99", compare_at="29.99", stock=5,
                    disclosure="sponsored")
# a query and a fragment: the QR code's buy URL keeps both (SPEC §16)
PLAIN = h.offer("sku-2", title="Hand cream \"Rose\" <50 ml>",
                price="9.50",
                url="https://shop.example/p/serum?variant=2#top")
THIRD = h.offer("sku-3", title="Lip balm", price="4.00", stock=100)


def put_catalog(api):
    for o in (SPONSORED, PLAIN, THIRD):
        r = api.put_offer(o)
        assert r.status in (200, 201), r


def plugin_config(ls):
    """The plugin's config.json for setup ls (SPEC §12 keys)."""
    return {"server": "http://127.0.0.1:%d/shop/" % ls.http_port,
            "stream": h.STREAM, "token": ls.api.token,
            "countdown_seconds": 90, "disclosure_kind": "ad"}


def pinned_offer(api):
    r = api.state()
    assert r.status == 200, r
    p = r.json().get("pinned")
    return p["offer"]["id"] if p else None
