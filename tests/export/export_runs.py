"""What the exported runs are made of, for the fixtures in conftest.py and the tests."""

#: The step after which the genetic run's sigma changes, and the change itself.
CHANGE_STEP, CHANGE = 10, ("sigma", 0.1, 0.05)
