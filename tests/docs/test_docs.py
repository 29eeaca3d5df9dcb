"""docs_complete: docs/directives.md and docs/api.md cover exactly the
directives and calls of the code (check_docs.py), and the check fails
when one is missing or made up."""

import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECK = os.path.join(HERE, "check_docs.py")


def run(repo):
    p = subprocess.run([sys.executable, CHECK, repo], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return p.returncode, p.stdout.decode("utf-8")


@pytest.fixture
def copy(tmp_path):
    """A copy of what the check reads: nginx-module/*.c and docs/."""
    shutil.copytree(os.path.join(REPO, "docs"), tmp_path / "docs")
    os.makedirs(tmp_path / "nginx-module")
    for fn in os.listdir(os.path.join(REPO, "nginx-module")):
        if fn.endswith(".c"):
            shutil.copy(os.path.join(REPO, "nginx-module", fn),
                        tmp_path / "nginx-module" / fn)
    return tmp_path


def edit(path, fn):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = fn(text)
    assert new != text, "the edit changed nothing in %s" % path
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def drop_section(text, heading):
    return re.sub(r"(?ms)^### %s\n.*?(?=^### |\Z)" % re.escape(heading), "",
                  text)


def test_docs_complete():
    rc, out = run(REPO)
    print(out)
    assert rc == 0, out
    n = re.search(r"(\d+) directives, (\d+) calls", out)
    assert int(n.group(1)) >= 9 and int(n.group(2)) >= 9, out


def test_copy_is_complete(copy):
    rc, out = run(str(copy))
    assert rc == 0, out


def test_fails_when_a_directive_is_undocumented(copy):
    edit(copy / "docs" / "directives.md",
         lambda t: drop_section(t, "live_shop_hls_app"))
    rc, out = run(str(copy))
    assert rc == 1 and 'no section "### live_shop_hls_app"' in out, out


def test_fails_when_the_rtmp_directive_is_undocumented(copy):
    edit(copy / "docs" / "directives.md",
         lambda t: drop_section(t, "live_shop (rtmp)"))
    rc, out = run(str(copy))
    assert rc == 1 and 'no section "### live_shop"' in out, out


def test_fails_on_a_directive_the_code_lacks(copy):
    edit(copy / "docs" / "directives.md",
         lambda t: t + "\n### live_shop_bogus\n\n| Syntax: | "
                       "`live_shop_bogus on;` |\n")
    rc, out = run(str(copy))
    assert rc == 1 and "live_shop_bogus, which no command table" in out, out


def test_fails_on_a_new_directive_in_code(copy):
    edit(copy / "nginx-module" / "ngx_http_live_shop_module.c",
         lambda t: t.replace(
             "    { ngx_string(\"live_shop_api\"),",
             "    { ngx_string(\"live_shop_new_thing\"),\n"
             "      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,\n"
             "      ngx_conf_set_flag_slot, 0, 0, NULL },\n\n"
             "    { ngx_string(\"live_shop_api\"),", 1))
    rc, out = run(str(copy))
    assert rc == 1 and 'no section "### live_shop_new_thing"' in out, out


def test_fails_on_a_wrong_context_or_no_example(copy):
    def change(t):
        t = t.replace("| Context: | `location` |\n\nServes the HTTP API",
                      "| Context: | `http` |\n\nServes the HTTP API", 1)
        return re.sub(r"(?s)(### live_shop_sse_ping\n.*?)Example:.*?```\n"
                      r".*?```\n", r"\1", t, count=1)
    edit(copy / "docs" / "directives.md", change)
    rc, out = run(str(copy))
    assert rc == 1, out
    assert "live_shop_api: Context says ['http']" in out, out
    assert "live_shop_sse_ping: no example" in out, out


def test_fails_when_a_call_is_undocumented(copy):
    edit(copy / "docs" / "api.md",
         lambda t: drop_section(
             t, "DELETE /shop/v1/streams/APP/NAME/countdown — stop the "
                "countdown"))
    rc, out = run(str(copy))
    assert rc == 1 and "no section \"### DELETE /shop/v1/streams/APP/NAME/" \
        "countdown" in out, out


def test_fails_on_a_call_the_code_lacks_or_a_new_route(copy):
    edit(copy / "docs" / "api.md",
         lambda t: t + "\n### POST /shop/v1/streams/APP/NAME/refund — no\n\n"
                       "Auth.\n")
    edit(copy / "nginx-module" / "ngx_http_live_shop_module.c",
         lambda t: t.replace(
             "    { ngx_string(\"report\"),",
             "    { ngx_string(\"viewers\"), 0, NGX_HTTP_GET, 0,\n"
             "      ngx_http_live_shop_state, 0,\n"
             "      ngx_null_string },\n\n"
             "    { ngx_string(\"report\"),", 1))
    rc, out = run(str(copy))
    assert rc == 1, out
    assert "POST /shop/v1/streams/APP/NAME/refund, which the routes" in out
    assert "no section \"### GET /shop/v1/streams/APP/NAME/viewers" in out


def test_fails_on_wrong_auth_or_no_curl(copy):
    def change(t):
        t = t.replace("No auth. An unknown stream has an empty state.",
                      "Auth. An unknown stream has an empty state.", 1)
        return re.sub(r"(?s)(### GET /shop/v1/streams/APP/NAME/report.*?)"
                      r"```sh\ncurl.*?```\n", r"\1", t, count=1)
    edit(copy / "docs" / "api.md", change)
    rc, out = run(str(copy))
    assert rc == 1, out
    assert "/state: the text must begin with \"No auth.\"" in out, out
    assert "/report: no curl example" in out, out
