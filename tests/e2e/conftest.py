"""pytest wiring for the end-to-end tests: the nginx harness's fixtures
(tests/nginx/conftest.py) plus a headless Chromium (player.mjs)."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NGINX_TESTS = os.path.join(HERE, "..", "nginx")
sys.path.insert(0, NGINX_TESTS)

# tests/nginx/conftest.py under another name: its fixtures are ours.
_spec = importlib.util.spec_from_file_location(
    "liveshop_nginx_conftest", os.path.join(NGINX_TESTS, "conftest.py"))
_nginx_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nginx_conftest)

make_setup = _nginx_conftest.make_setup
module_so = _nginx_conftest.module_so
_time_bound = _nginx_conftest._time_bound
