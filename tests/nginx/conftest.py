"""pytest wiring for the nginx integration tests (see liveshop_harness)."""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import liveshop_harness as h  # noqa: E402

# No single test may run longer than this, whatever hangs (seconds).
TEST_TIMEOUT = int(os.environ.get("LIVESHOP_TEST_TIMEOUT", "240"))


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _time_bound(request):
    """Every wait in the harness has its own timeout; this alarm is the
    last line, so a hang anywhere still ends the test (and its teardown
    kills the processes)."""
    def expired(signum, frame):
        raise TestTimeout("test ran longer than %d s" % TEST_TIMEOUT)
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _require(path, env, what):
    """The file of a build product: a test run that names it (ctest sets
    the variable) fails when it is missing; a bare pytest run skips."""
    if os.path.isfile(path):
        return path
    if os.environ.get(env):
        pytest.fail("%s=%s does not exist (%s)" % (env, path, what))
    pytest.skip("%s not built yet (%s); set %s" % (what, path, env))


@pytest.fixture(scope="session")
def module_so():
    return _require(h.module_path(), "LIVESHOP_MODULE",
                    "ngx_live_shop_module.so")


@pytest.fixture(scope="session")
def liveshopctl():
    path = os.environ.get("LIVESHOPCTL") or os.path.join(
        h.REPO, "build", "tools", "liveshopctl")
    return _require(path, "LIVESHOPCTL", "liveshopctl")


def _finish(request, ls, failed_before, name):
    """Stops everything of ls, keeps the artifacts when anything failed,
    and fails on [alert]/[emerg]/[crit] or a crashed worker in
    error.log."""
    ls.stop()
    problems = ls.nginx.error_log_problems()
    if problems or request.session.testsfailed > failed_before or \
            os.environ.get("LIVESHOP_KEEP_ARTIFACTS"):
        dest = ls.keep_artifacts(name)
        sys.stderr.write("\nliveshop: artifacts kept in %s\n" % dest)
    ls.cleanup()
    assert not problems, "error.log of nginx holds:\n" + "\n".join(
        problems[:30])


def _run_live(request, module, publish=True, **conf_kw):
    """Starts nginx (+ publisher), yields the LiveSetup, and at the end
    stops everything (see _finish). conf_kw: more make_conf parameters."""
    failed_before = request.session.testsfailed
    ls = h.LiveSetup(module=module, **conf_kw)
    try:
        ls.start(publish=publish)
    except Exception:
        dest = ls.keep_artifacts(request.node.name + "-start")
        ls.cleanup()
        raise RuntimeError("could not start nginx + publisher; artifacts in "
                           + dest)
    try:
        yield ls
    finally:
        _finish(request, ls, failed_before, request.node.name)


@pytest.fixture
def make_setup(request, module_so):
    """A factory of setups owned by one test: make_setup(publish=False,
    **conf_kw) starts nginx with our module (and the publisher when
    publish), returns the LiveSetup; all are stopped and checked as the
    test ends. For tests that stop, kill or reload nginx."""
    made = []
    failed_before = request.session.testsfailed

    def make(publish=False, **conf_kw):
        ls = h.LiveSetup(module=module_so, **conf_kw)
        made.append(ls)
        try:
            ls.start(publish=publish)
        except Exception:
            ls.failed = True
            raise
        return ls
    try:
        yield make
    finally:
        errors = []
        for i, ls in enumerate(made):
            try:
                _finish(request, ls, failed_before,
                        "%s-%d" % (request.node.name, i))
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def live(request, module_so):
    """nginx (2 workers) + nginx-rtmp + our module + ffmpeg publishing
    live/demo; shared by the tests of one file."""
    yield from _run_live(request, module_so)


@pytest.fixture(scope="module")
def stock(request):
    """The same without our module: checks the harness itself."""
    yield from _run_live(request, None)
