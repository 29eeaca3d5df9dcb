#!/usr/bin/env python3
"""Are the docs complete? Every nginx directive of the module's command
tables (nginx-module/*.c, the ngx_command_t arrays) has its section in
docs/directives.md, with Syntax, Default and Context rows, the contexts the
code allows and an example; every route of the API (the routes table of
nginx-module/ngx_http_live_shop_module.c) has its section in docs/api.md,
saying whether it needs a token as the code does, with a curl example.
And the docs name no directive or call that the code lacks.

Usage: check_docs.py [REPO]     exit 0: complete; 1: what is missing
"""

import glob
import os
import re
import sys

# ngx_command_t type flags -> the context words of nginx's documentation
CONTEXTS = [
    ("NGX_HTTP_MAIN_CONF", "http"), ("NGX_HTTP_SRV_CONF", "server"),
    ("NGX_HTTP_LOC_CONF", "location"), ("NGX_RTMP_MAIN_CONF", "rtmp"),
    ("NGX_RTMP_SRV_CONF", "server"), ("NGX_RTMP_APP_CONF", "application"),
]

COMMANDS_RE = re.compile(
    r"ngx_command_t\s+(\w+)\s*\[\]\s*=\s*\{(.*?)ngx_null_command", re.S)
COMMAND_RE = re.compile(r"\{\s*ngx_string\(\"([^\"]+)\"\)\s*,\s*([^,]+),")
ROUTES_RE = re.compile(
    r"ngx_http_live_shop_route_t\s+ngx_http_live_shop_routes\s*\[\]\s*=\s*"
    r"\{(.*?)\n\};", re.S)
ROUTE_RE = re.compile(
    r"\{\s*ngx_string\(\"([^\"]+)\"\)\s*,\s*(\d+)\s*,\s*([A-Z_|]+)\s*,"
    r"\s*(\d+)\s*,\s*\w+\s*,\s*\w+"
    r"(?:\s*,\s*(?:ngx_string\(\"([^\"]+)\"\)|ngx_null_string))?\s*\}")


def code_directives(repo):
    """{name: set of contexts} from every command table of the module."""
    out = {}
    for path in sorted(glob.glob(os.path.join(repo, "nginx-module", "*.c"))):
        with open(path, encoding="utf-8") as f:
            src = f.read()
        for table in COMMANDS_RE.finditer(src):
            for m in COMMAND_RE.finditer(table.group(2)):
                flags = m.group(2)
                ctx = {word for flag, word in CONTEXTS if flag in flags}
                out.setdefault(m.group(1), set()).update(ctx)
    return out


def code_routes(repo):
    """[(METHOD, path, auth)] of the routes table, path as the docs write
    it under /shop/."""
    path = os.path.join(repo, "nginx-module", "ngx_http_live_shop_module.c")
    with open(path, encoding="utf-8") as f:
        m = ROUTES_RE.search(f.read())
    if not m:
        raise SystemExit("check_docs: no routes table in %s" % path)
    out = []
    for r in ROUTE_RE.finditer(m.group(1)):
        name, with_id, methods, auth, action = r.groups()
        for meth in methods.split("|"):
            meth = meth.strip().replace("NGX_HTTP_", "")
            if meth == "HEAD":      # answered like GET
                continue
            out.append((meth, "/shop/v1/streams/APP/NAME/" + name +
                        ("/ID" if with_id == "1" else "") +
                        ("/" + action if action else ""), auth == "1"))
    return out


def sections(text, level):
    """{heading: body} of the markdown headings of that level."""
    out = {}
    parts = re.split(r"^(%s .*)$" % ("#" * level), text, flags=re.M)
    for i in range(1, len(parts), 2):
        out[parts[i][level + 1:].strip()] = parts[i + 1]
    return out


def check_directives(repo, problems):
    code = code_directives(repo)
    with open(os.path.join(repo, "docs", "directives.md"),
              encoding="utf-8") as f:
        docs = {}
        for head, body in sections(f.read(), 3).items():
            m = re.match(r"^`?([a-z_]+)`?(\s*\(\w+\))?$", head)
            if m:
                docs[m.group(1)] = body
    for name in sorted(set(docs) - set(code)):
        problems.append("docs/directives.md documents %s, which no command "
                        "table of nginx-module/*.c has" % name)
    for name, ctx in sorted(code.items()):
        body = docs.get(name)
        if body is None:
            problems.append("docs/directives.md: no section \"### %s\"" % name)
            continue
        rows = {}
        for m in re.finditer(r"^\|\s*(Syntax|Default|Context):\s*\|(.*)\|\s*$",
                             body, re.M):
            rows[m.group(1)] = m.group(2).strip()
        for row in ("Syntax", "Default", "Context"):
            if row not in rows:
                problems.append("docs/directives.md, %s: no \"%s:\" row"
                                % (name, row))
        if "Syntax" in rows and not re.search(
                r"`%s[ ;]" % re.escape(name), rows["Syntax"]):
            problems.append("docs/directives.md, %s: the Syntax row does not "
                            "start with the directive: %s"
                            % (name, rows["Syntax"]))
        if "Context" in rows:
            said = set(re.findall(r"`(\w+)`", rows["Context"]))
            if said != ctx:
                problems.append("docs/directives.md, %s: Context says %s, "
                                "the code allows %s" % (
                                    name, sorted(said), sorted(ctx)))
        # an example: the directive in code, other than the Syntax and
        # Default rows
        rest = "\n".join(ln for ln in body.splitlines()
                         if not ln.startswith(("| Syntax:", "| Default:")))
        code_text = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", rest, re.S)
                              + re.findall(r"`([^`\n]+)`", rest))
        if not re.search(r"(^|[\s{])%s[ ;]" % re.escape(name), code_text,
                         re.M):
            problems.append("docs/directives.md, %s: no example (the "
                            "directive in a code block or `inline code`)"
                            % name)


def check_api(repo, problems):
    routes = code_routes(repo)
    with open(os.path.join(repo, "docs", "api.md"), encoding="utf-8") as f:
        docs = {}
        for head, body in sections(f.read(), 3).items():
            m = re.match(r"^(GET|PUT|POST|DELETE|PATCH)\s+(\S+)", head)
            if m:
                # a call reading a resource in another format, such as
                # shows/ID.ics, is the route of its ID
                path = re.sub(r"/ID\.\w+$", "/ID", m.group(2))
                docs[(m.group(1), path)] = body
    known = {(meth, path) for meth, path, _ in routes}
    for meth, path in sorted(set(docs) - known):
        problems.append("docs/api.md documents %s %s, which the routes table "
                        "lacks" % (meth, path))
    for meth, path, auth in routes:
        body = docs.get((meth, path))
        if body is None:
            problems.append("docs/api.md: no section \"### %s %s — ...\""
                            % (meth, path))
            continue
        first = body.strip().split("\n", 1)[0]
        says_auth = first.startswith("Auth.")
        says_open = first.startswith("No auth.")
        if auth and not says_auth or not auth and not says_open:
            problems.append("docs/api.md, %s %s: the text must begin with "
                            "\"%s\" (the code %s a token)" % (
                                meth, path, "Auth." if auth else "No auth.",
                                "needs" if auth else "needs no"))
        # the path after APP/NAME/, any id standing for ID
        tail = re.compile("/" + "/".join(
            r"[^/\s'\"]+" if part == "ID" else re.escape(part)
            for part in path.split("/APP/NAME/", 1)[1].split("/"))
            + r"(?![\w/-])")
        curl = [ln for ln in body.splitlines() if re.search(r"\bcurl\b", ln)]
        want = "-X %s" % meth if meth != "GET" else None
        example = False
        for i, ln in enumerate(body.splitlines()):
            if not re.search(r"\bcurl\b", ln):
                continue
            # a curl command may go on over lines ending in a backslash
            cmd = ln
            lines = body.splitlines()
            j = i
            while cmd.rstrip().endswith("\\") and j + 1 < len(lines):
                j += 1
                cmd += " " + lines[j]
            if ("/streams/" in cmd and tail.search(cmd) and
                    (want is None and "-X" not in cmd or
                     want is not None and want in cmd)):
                example = True
        if not example:
            problems.append("docs/api.md, %s %s: no curl example (%s)" % (
                meth, path, "curl lines: %r" % curl if curl else "none"))


def main(argv):
    repo = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    problems = []
    check_directives(repo, problems)
    check_api(repo, problems)
    directives = code_directives(repo)
    routes = code_routes(repo)
    if not directives or not routes:
        problems.append("found %d directives and %d routes in the code: the "
                        "tables' shape changed, fix check_docs.py"
                        % (len(directives), len(routes)))
    for p in problems:
        print("MISSING: " + p)
    print("check_docs: %d directives, %d calls, %d problems" % (
        len(directives), len(routes), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
