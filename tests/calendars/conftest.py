from tests.scheduling.conftest import freeze  # noqa: F401  (the frozen-clock fixture)
