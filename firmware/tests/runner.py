"""A tiny test runner for CPython and MicroPython alike (MicroPython has no unittest).

Test modules hold plain `test_*` functions that assert. Run them all with
`python3 tests/runner.py` (or `import runner; runner.run()` in a MicroPython VM); CPython's
`python3 -m unittest discover -s tests` finds them through the `load_tests` hook each test
module gets from `unittest_hook`.
"""
import sys

MODULES = ("test_backlog", "test_battery", "test_config", "test_mqtt", "test_payload")

try:
    from sys import print_exception
except ImportError:
    import traceback

    def print_exception(e):
        traceback.print_exception(type(e), e, e.__traceback__)


def _add_app_path():
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
    app = here + "/../app"
    if app not in sys.path:
        sys.path.append(app)


_add_app_path()


def eq(got, want):
    if got != want:
        raise AssertionError("got %r, want %r" % (got, want))


def raises(kind, fn, *args):
    """The exception of type kind that fn(*args) raises."""
    try:
        fn(*args)
    except kind as e:
        return e
    raise AssertionError("%s not raised" % kind.__name__)


def tests_of(module):
    names = sorted(n for n in dir(module) if n.startswith("test_"))
    return [(n, getattr(module, n)) for n in names if callable(getattr(module, n))]


def unittest_hook(module_name):
    """A load_tests function that hands a module's test functions to unittest."""

    def load_tests(loader, tests, pattern):
        import unittest

        class Case(unittest.FunctionTestCase):
            # One line per test in -v output: "module.test_name ... ok".
            def __str__(self):
                return "%s.%s" % (module_name, self._testFunc.__name__)

        suite = unittest.TestSuite()
        for _, fn in tests_of(sys.modules[module_name]):
            suite.addTest(Case(fn))
        return suite

    return load_tests


def run(modules=MODULES):
    """Run every test; print one line each and a closing count. Returns the number failed."""
    passed = failed = 0
    for module_name in modules:
        module = __import__(module_name)
        for name, fn in tests_of(module):
            try:
                fn()
            except Exception as e:
                failed += 1
                print("FAIL %s.%s: %s: %s" % (module_name, name, type(e).__name__, e))
                print_exception(e)
            else:
                passed += 1
                print("ok   %s.%s" % (module_name, name))
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    sys.exit(1 if run() else 0)
