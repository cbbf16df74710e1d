from cpython_fips.release.package import timed_out_checks


def test_timed_out_checks_are_the_lines_that_say_so() -> None:
    log = (
        b"== full: /in/unpacked/full/python/install/bin/python3.13\n"
        b"TIMED OUT: still running after 900 s: python3.13 regression_tests.py\n"
        b"the processes, when it was killed:\n"
        b"  process 12: python3.13 -m test -j2\n"
        b"== running it again: try 2 of 2\n"
        b"all runtime checks passed\n"
    )
    assert timed_out_checks(log) == [
        "TIMED OUT: still running after 900 s: python3.13 regression_tests.py"
    ]
    assert timed_out_checks(b"== full\nall runtime checks passed\n") == []
